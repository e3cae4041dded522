//! StorNVMe requests as bytes: the input buffers of the storage IOCTLs the
//! Windows NVMe driver answers, and the parsing of their replies.
//!
//! This module is plain Rust and compiles on every platform, so the exact
//! layouts are unit-tested on any host; `sys.rs` hands the bytes to
//! `DeviceIoControl` on Windows. Offsets and sizes follow the Windows SDK
//! (`winioctl.h`, `ntddstor.h`):
//!
//! | structure | size | fields used (offset) |
//! |---|---|---|
//! | `STORAGE_PROPERTY_QUERY` | 8 + parameters | PropertyId (0), QueryType (4), AdditionalParameters (8) |
//! | `STORAGE_PROPERTY_SET` | 8 + parameters | PropertyId (0), SetType (4), AdditionalParameters (8) |
//! | `STORAGE_PROTOCOL_SPECIFIC_DATA` | 40 | ProtocolType (0), DataType (4), RequestValue (8), RequestSubValue (12), DataOffset (16), DataLength (20), FixedReturnData (24), SubValue2..4 (28..36) |
//! | `STORAGE_PROTOCOL_SPECIFIC_DATA_EXT` | 64 | as above, then SubValue5 (40), Reserved\[5\] |
//! | `STORAGE_PROTOCOL_DATA_DESCRIPTOR` | 48 | Version (0), Size (4), ProtocolSpecificData (8) |
//! | `STORAGE_PROTOCOL_COMMAND` | 80 + command | Version (0), Length (4), ProtocolType (8), Flags (12), ReturnStatus (16), ErrorCode (20), CommandLength (24), ErrorInfoLength (28), DataToDeviceTransferLength (32), DataFromDeviceTransferLength (36), TimeOutValue (40), ErrorInfoOffset (44), DataToDeviceBufferOffset (48), DataFromDeviceBufferOffset (52), CommandSpecific (56), FixedProtocolReturnData (64), Command (80) |
//!
//! Which path a command takes ([`route_admin`], [`route_io`]): Identify,
//! Get Log Page and Get Features are *queries* of the protocol-specific
//! property (`IOCTL_STORAGE_QUERY_PROPERTY`); Set Features is a *set* of it
//! (`IOCTL_STORAGE_SET_PROPERTY`, Windows 10 2004 and later); the commands
//! StorNVMe lets through as raw commands (firmware, format, sanitize,
//! security, self-test, vendor specific) go through
//! `IOCTL_STORAGE_PROTOCOL_COMMAND`; reads, writes and flushes are file
//! I/O on the disk. Everything else the driver refuses, and so does nvmx,
//! before sending, with an error that says so.

use nvmx_spec::opcode::{AdminOpcode, NvmOpcode};
use nvmx_spec::{Command, Completion, Status};
use zerocopy::IntoBytes;

use nvmx_core::error::{Error, Result};

/// `IOCTL_STORAGE_QUERY_PROPERTY`.
pub const IOCTL_STORAGE_QUERY_PROPERTY: u32 = 0x002D_1400;
/// `IOCTL_STORAGE_SET_PROPERTY`.
pub const IOCTL_STORAGE_SET_PROPERTY: u32 = 0x002D_93FC;
/// `IOCTL_STORAGE_PROTOCOL_COMMAND`.
pub const IOCTL_STORAGE_PROTOCOL_COMMAND: u32 = 0x002D_D3C0;

/// `StorageDeviceProperty`: the `STORAGE_DEVICE_DESCRIPTOR`.
pub const STORAGE_DEVICE_PROPERTY: u32 = 0;
/// `StorageAccessAlignmentProperty`: `STORAGE_ACCESS_ALIGNMENT_DESCRIPTOR`.
pub const STORAGE_ACCESS_ALIGNMENT_PROPERTY: u32 = 6;
/// `StorageAdapterProtocolSpecificProperty`: controller-scoped data.
pub const STORAGE_ADAPTER_PROTOCOL_SPECIFIC_PROPERTY: u32 = 49;
/// `StorageDeviceProtocolSpecificProperty`: namespace-scoped data.
pub const STORAGE_DEVICE_PROTOCOL_SPECIFIC_PROPERTY: u32 = 50;

/// `ProtocolTypeNvme`.
pub const PROTOCOL_TYPE_NVME: u32 = 3;
/// `NVMeDataTypeIdentify`.
pub const NVME_DATA_TYPE_IDENTIFY: u32 = 1;
/// `NVMeDataTypeLogPage`.
pub const NVME_DATA_TYPE_LOG_PAGE: u32 = 2;
/// `NVMeDataTypeFeature`.
pub const NVME_DATA_TYPE_FEATURE: u32 = 3;

/// Bytes before `AdditionalParameters` in `STORAGE_PROPERTY_QUERY` and
/// `STORAGE_PROPERTY_SET`.
pub const PROPERTY_HEADER_LEN: usize = 8;
/// `sizeof(STORAGE_PROTOCOL_SPECIFIC_DATA)`.
pub const PROTOCOL_SPECIFIC_DATA_LEN: usize = 40;
/// `sizeof(STORAGE_PROTOCOL_SPECIFIC_DATA_EXT)`.
pub const PROTOCOL_SPECIFIC_DATA_EXT_LEN: usize = 64;
/// `sizeof(STORAGE_PROTOCOL_DATA_DESCRIPTOR)`.
pub const PROTOCOL_DATA_DESCRIPTOR_LEN: usize = 48;

/// `FIELD_OFFSET(STORAGE_PROTOCOL_COMMAND, Command)`.
pub const PROTOCOL_COMMAND_HEADER_LEN: usize = 80;
/// `sizeof(STORAGE_PROTOCOL_COMMAND)` (the header and one command byte,
/// padded), what `Version`'s companion `Length` must say.
pub const PROTOCOL_COMMAND_STRUCT_LEN: u32 = 84;
/// `STORAGE_PROTOCOL_STRUCTURE_VERSION`.
pub const PROTOCOL_STRUCTURE_VERSION: u32 = 1;
/// `STORAGE_PROTOCOL_COMMAND_LENGTH_NVME`: a submission queue entry.
pub const PROTOCOL_COMMAND_LENGTH_NVME: usize = 64;
/// Bytes of error information asked for: one NVMe Error Information log
/// entry (`NVME_ERROR_INFO_LOG`).
pub const ERROR_INFO_LEN: usize = 64;
/// `STORAGE_PROTOCOL_COMMAND_FLAG_ADAPTER_REQUEST`: the command goes to
/// the controller (admin), not the namespace.
pub const FLAG_ADAPTER_REQUEST: u32 = 0x8000_0000;
/// `STORAGE_PROTOCOL_SPECIFIC_NVME_ADMIN_COMMAND`.
pub const SPECIFIC_NVME_ADMIN_COMMAND: u32 = 1;
/// `STORAGE_PROTOCOL_SPECIFIC_NVME_NVM_COMMAND`.
pub const SPECIFIC_NVME_NVM_COMMAND: u32 = 2;
/// `STORAGE_PROTOCOL_STATUS_SUCCESS`.
pub const PROTOCOL_STATUS_SUCCESS: u32 = 1;
/// `STORAGE_PROTOCOL_STATUS_ERROR`.
pub const PROTOCOL_STATUS_ERROR: u32 = 2;

/// Seconds a raw command may take before the driver gives up.
pub const COMMAND_TIMEOUT_SECS: u32 = 60;

fn put32(buf: &mut [u8], off: usize, v: u32) {
    buf[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn get32(buf: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]])
}

fn u32_len(what: &'static str, n: usize) -> Result<u32> {
    u32::try_from(n)
        .map_err(|_| Error::too_large(what, n as u64, u32::MAX.into(), "bytes per storage IOCTL"))
}

/// What an Identify, Get Log Page or Get Features query asks for, in the
/// terms of `STORAGE_PROTOCOL_SPECIFIC_DATA`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProtocolQuery {
    /// `StorageAdapterProtocolSpecificProperty` or
    /// `StorageDeviceProtocolSpecificProperty`.
    pub property: u32,
    /// `NVMeDataType*`.
    pub data_type: u32,
    /// `ProtocolDataRequestValue`: CNS, LID or FID.
    pub value: u32,
    /// `ProtocolDataRequestSubValue`: NSID (Identify), offset bits 31:0
    /// (Get Log Page), CDW11 (Get Features).
    pub sub_value: u32,
    /// `ProtocolDataRequestSubValue2`: offset bits 63:32 (Get Log Page).
    pub sub_value2: u32,
    /// `ProtocolDataRequestSubValue3`: log specific identifier.
    pub sub_value3: u32,
    /// `ProtocolDataRequestSubValue4`: RAE (bit 0) and LSP (bits 4:1).
    pub sub_value4: u32,
}

impl ProtocolQuery {
    /// The query for an Identify, Get Log Page or Get Features command,
    /// or `None` for any other opcode.
    pub fn from_admin(cmd: &Command) -> Option<ProtocolQuery> {
        let ns_scoped = cmd.nsid != 0 && cmd.nsid != u32::MAX;
        let property = if ns_scoped {
            STORAGE_DEVICE_PROTOCOL_SPECIFIC_PROPERTY
        } else {
            STORAGE_ADAPTER_PROTOCOL_SPECIFIC_PROPERTY
        };
        let q = match AdminOpcode(cmd.opc) {
            AdminOpcode::IDENTIFY => ProtocolQuery {
                // Identify data of a namespace is asked of the adapter with
                // the NSID in the sub value; StorNVMe routes it.
                property: STORAGE_ADAPTER_PROTOCOL_SPECIFIC_PROPERTY,
                data_type: NVME_DATA_TYPE_IDENTIFY,
                value: cmd.cdw10 & 0xff,
                sub_value: cmd.nsid,
                sub_value2: 0,
                sub_value3: 0,
                sub_value4: 0,
            },
            AdminOpcode::GET_LOG_PAGE => {
                let rae = (cmd.cdw10 >> 15) & 1;
                let lsp = (cmd.cdw10 >> 8) & 0xf;
                ProtocolQuery {
                    property,
                    data_type: NVME_DATA_TYPE_LOG_PAGE,
                    value: cmd.cdw10 & 0xff,
                    sub_value: cmd.cdw12,
                    sub_value2: cmd.cdw13,
                    sub_value3: cmd.cdw11 >> 16,
                    sub_value4: rae | (lsp << 1),
                }
            }
            AdminOpcode::GET_FEATURES => ProtocolQuery {
                property,
                data_type: NVME_DATA_TYPE_FEATURE,
                value: cmd.cdw10 & 0xff,
                sub_value: cmd.cdw11,
                sub_value2: 0,
                sub_value3: 0,
                sub_value4: 0,
            },
            _ => return None,
        };
        Some(q)
    }

    /// The `IOCTL_STORAGE_QUERY_PROPERTY` input (and output) buffer:
    /// `STORAGE_PROPERTY_QUERY` up to `AdditionalParameters`, then
    /// `STORAGE_PROTOCOL_SPECIFIC_DATA`, then room for `data_len` bytes of
    /// reply. The driver writes a `STORAGE_PROTOCOL_DATA_DESCRIPTOR` over
    /// the start of the same buffer.
    pub fn to_bytes(&self, data_len: usize) -> Result<Vec<u8>> {
        let total = PROPERTY_HEADER_LEN + PROTOCOL_SPECIFIC_DATA_LEN + data_len;
        u32_len("query buffer", total)?;
        let mut b = vec![0u8; total];
        put32(&mut b, 0, self.property);
        put32(&mut b, 4, 0); // PropertyStandardQuery
        let d = PROPERTY_HEADER_LEN;
        put32(&mut b, d, PROTOCOL_TYPE_NVME);
        put32(&mut b, d + 4, self.data_type);
        put32(&mut b, d + 8, self.value);
        put32(&mut b, d + 12, self.sub_value);
        // The data follows the protocol-specific data; the offset counts
        // from the start of that structure.
        put32(&mut b, d + 16, PROTOCOL_SPECIFIC_DATA_LEN as u32);
        put32(&mut b, d + 20, data_len as u32);
        put32(&mut b, d + 28, self.sub_value2);
        put32(&mut b, d + 32, self.sub_value3);
        put32(&mut b, d + 36, self.sub_value4);
        Ok(b)
    }
}

/// A parsed `STORAGE_PROTOCOL_DATA_DESCRIPTOR` reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryReply {
    /// Where the data starts in the reply buffer.
    pub data_offset: usize,
    /// How many bytes of data the driver returned.
    pub data_len: usize,
    /// `FixedProtocolReturnData`: completion dword 0 (a Get Features
    /// value).
    pub dw0: u32,
}

/// Parses the reply of a protocol-specific query, checking what the
/// driver wrote against the buffer it was given.
pub fn parse_query_reply(reply: &[u8], returned: usize) -> Result<QueryReply> {
    let bad = |why: String| Error::bad_reply("StorNVMe", why);
    if reply.len() < PROTOCOL_DATA_DESCRIPTOR_LEN || returned < PROTOCOL_DATA_DESCRIPTOR_LEN {
        return Err(bad(format!(
            "{returned} bytes returned, shorter than the {PROTOCOL_DATA_DESCRIPTOR_LEN}-byte data descriptor"
        )));
    }
    let version = get32(reply, 0);
    let size = get32(reply, 4);
    if version as usize != PROTOCOL_DATA_DESCRIPTOR_LEN
        || size as usize != PROTOCOL_DATA_DESCRIPTOR_LEN
    {
        return Err(bad(format!(
            "descriptor version {version} size {size}, expected {PROTOCOL_DATA_DESCRIPTOR_LEN} for both"
        )));
    }
    let d = 8; // ProtocolSpecificData
    let off = get32(reply, d + 16) as usize;
    let len = get32(reply, d + 20) as usize;
    let data_offset = d + off;
    if off < PROTOCOL_SPECIFIC_DATA_LEN || data_offset.saturating_add(len) > reply.len() {
        return Err(bad(format!(
            "data at offset {off} length {len} does not fit the {}-byte buffer",
            reply.len()
        )));
    }
    Ok(QueryReply {
        data_offset,
        data_len: len,
        dw0: get32(reply, d + 24),
    })
}

/// The `IOCTL_STORAGE_SET_PROPERTY` input buffer of a Set Features
/// command: `STORAGE_PROPERTY_SET` up to `AdditionalParameters`, then
/// `STORAGE_PROTOCOL_SPECIFIC_DATA_EXT` (FID in the value, CDW11 to CDW15
/// in the sub values), then the command's data.
pub fn set_features_bytes(cmd: &Command, data: &[u8]) -> Result<Vec<u8>> {
    if AdminOpcode(cmd.opc) != AdminOpcode::SET_FEATURES {
        return Err(Error::invalid(
            "StorNVMe set property",
            format!("opcode {:#04x} is not Set Features", cmd.opc),
        ));
    }
    let total = PROPERTY_HEADER_LEN + PROTOCOL_SPECIFIC_DATA_EXT_LEN + data.len();
    u32_len("set-property buffer", total)?;
    let mut b = vec![0u8; total];
    let ns_scoped = cmd.nsid != 0 && cmd.nsid != u32::MAX;
    put32(
        &mut b,
        0,
        if ns_scoped {
            STORAGE_DEVICE_PROTOCOL_SPECIFIC_PROPERTY
        } else {
            STORAGE_ADAPTER_PROTOCOL_SPECIFIC_PROPERTY
        },
    );
    put32(&mut b, 4, 0); // PropertyStandardSet
    let d = PROPERTY_HEADER_LEN;
    put32(&mut b, d, PROTOCOL_TYPE_NVME);
    put32(&mut b, d + 4, NVME_DATA_TYPE_FEATURE);
    put32(&mut b, d + 8, cmd.cdw10 & 0xff);
    put32(&mut b, d + 12, cmd.cdw11);
    put32(&mut b, d + 16, PROTOCOL_SPECIFIC_DATA_EXT_LEN as u32);
    put32(&mut b, d + 20, data.len() as u32);
    put32(&mut b, d + 28, cmd.cdw12);
    put32(&mut b, d + 32, cmd.cdw13);
    put32(&mut b, d + 36, cmd.cdw14);
    put32(&mut b, d + 40, cmd.cdw15);
    b[d + PROTOCOL_SPECIFIC_DATA_EXT_LEN..].copy_from_slice(data);
    Ok(b)
}

/// Where a raw command's data sits in its `STORAGE_PROTOCOL_COMMAND`
/// buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProtocolCommandLayout {
    /// Total buffer length.
    pub total: usize,
    /// Offset of the error information (one error log entry).
    pub error_info_offset: usize,
    /// Offset of the data, to or from the device.
    pub data_offset: usize,
    /// Data length.
    pub data_len: usize,
}

/// The `IOCTL_STORAGE_PROTOCOL_COMMAND` buffer for one raw NVMe command:
/// the header, the 64-byte command, one error log entry's room, then the
/// data (copied in for a write; room for it for a read). `admin` selects
/// an adapter (controller) request.
pub fn protocol_command_bytes(
    cmd: &Command,
    admin: bool,
    to_device: Option<&[u8]>,
    from_device_len: usize,
) -> Result<(Vec<u8>, ProtocolCommandLayout)> {
    let data_len = to_device.map_or(from_device_len, <[u8]>::len);
    let error_info_offset = PROTOCOL_COMMAND_HEADER_LEN + PROTOCOL_COMMAND_LENGTH_NVME;
    // Data starts on an 8-byte boundary (it does already: 208).
    let data_offset = (error_info_offset + ERROR_INFO_LEN).next_multiple_of(8);
    let total = data_offset + data_len;
    u32_len("protocol command buffer", total)?;
    let mut b = vec![0u8; total];
    put32(&mut b, 0, PROTOCOL_STRUCTURE_VERSION);
    put32(&mut b, 4, PROTOCOL_COMMAND_STRUCT_LEN);
    put32(&mut b, 8, PROTOCOL_TYPE_NVME);
    put32(&mut b, 12, if admin { FLAG_ADAPTER_REQUEST } else { 0 });
    put32(&mut b, 24, PROTOCOL_COMMAND_LENGTH_NVME as u32);
    put32(&mut b, 28, ERROR_INFO_LEN as u32);
    put32(&mut b, 40, COMMAND_TIMEOUT_SECS);
    put32(&mut b, 44, error_info_offset as u32);
    if let Some(d) = to_device {
        put32(&mut b, 32, data_len as u32);
        put32(&mut b, 48, data_offset as u32);
        b[data_offset..].copy_from_slice(d);
    } else if data_len > 0 {
        put32(&mut b, 36, data_len as u32);
        put32(&mut b, 52, data_offset as u32);
    }
    put32(
        &mut b,
        56,
        if admin {
            SPECIFIC_NVME_ADMIN_COMMAND
        } else {
            SPECIFIC_NVME_NVM_COMMAND
        },
    );
    // The data pointers are the driver's to fill: send them as zero.
    let mut sqe = *cmd;
    sqe.mptr = 0;
    sqe.prp1 = 0;
    sqe.prp2 = 0;
    b[PROTOCOL_COMMAND_HEADER_LEN..error_info_offset].copy_from_slice(sqe.as_bytes());
    Ok((
        b,
        ProtocolCommandLayout {
            total,
            error_info_offset,
            data_offset,
            data_len,
        },
    ))
}

/// Turns the header of a returned `STORAGE_PROTOCOL_COMMAND` into a
/// completion: success with `FixedProtocolReturnData` as dword 0, or the
/// status recorded in the error information entry (its Status Field at
/// bytes 13:12, phase bit included). A failure the driver reports without an
/// NVMe status is an error naming `ReturnStatus` and `ErrorCode`.
pub fn parse_protocol_command_reply(
    buf: &[u8],
    layout: &ProtocolCommandLayout,
) -> Result<Completion> {
    if buf.len() < layout.total {
        return Err(Error::bad_reply(
            "StorNVMe",
            format!(
                "{} bytes, the command buffer was {}",
                buf.len(),
                layout.total
            ),
        ));
    }
    let ret = get32(buf, 16);
    let code = get32(buf, 20);
    let dw0 = get32(buf, 64);
    match ret {
        PROTOCOL_STATUS_SUCCESS => Ok(Completion::success(dw0)),
        PROTOCOL_STATUS_ERROR => {
            let e = &buf[layout.error_info_offset..layout.error_info_offset + ERROR_INFO_LEN];
            let sf = u16::from_le_bytes([e[12], e[13]]);
            let mut c = Completion::success(dw0);
            c.status = sf;
            if c.status().is_success() {
                return Err(Error::unsupported(
                    "nvme",
                    format!(
                        "the command: the Windows NVMe driver failed it without an NVMe status (ErrorCode {code:#x})"
                    ),
                ));
            }
            Ok(c)
        }
        other => Err(Error::unsupported(
            "nvme",
            format!(
                "the command: the Windows NVMe driver answered ReturnStatus {other:#x} ({}), ErrorCode {code:#x}",
                protocol_status_name(other)
            ),
        )),
    }
}

/// The name of a `STORAGE_PROTOCOL_STATUS_*` value.
pub fn protocol_status_name(v: u32) -> &'static str {
    match v {
        0 => "pending",
        1 => "success",
        2 => "error",
        3 => "invalid request",
        4 => "no device",
        5 => "busy",
        6 => "data overrun",
        7 => "insufficient resources",
        8 => "throttled request",
        0xff => "not supported",
        _ => "unknown",
    }
}

/// How the Windows backend carries an admin command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminRoute {
    /// `IOCTL_STORAGE_QUERY_PROPERTY` with the protocol-specific property.
    Query(ProtocolQuery),
    /// `IOCTL_STORAGE_SET_PROPERTY` (Set Features).
    SetFeatures,
    /// `IOCTL_STORAGE_PROTOCOL_COMMAND`.
    Raw,
}

/// How the Windows backend carries an I/O command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoRoute {
    /// `ReadFile` on the disk.
    Read,
    /// `WriteFile` on the disk.
    Write,
    /// `FlushFileBuffers`.
    Flush,
    /// `IOCTL_STORAGE_PROTOCOL_COMMAND` (vendor-specific commands).
    Raw,
}

fn not_allowed(kind: &str, opc: u8, name: &str) -> Error {
    Error::unsupported(
        "nvme",
        format!(
            "{kind} command {name} (opcode {opc:#04x}): not allowed by the Windows NVMe driver \
             (StorNVMe passes through Identify, Get Log Page, Get/Set Features, firmware, format, \
             sanitize, security, self-test and vendor-specific commands, and reads, writes and \
             flushes as file I/O)"
        ),
    )
}

/// The path an admin command takes, or the error saying StorNVMe does not
/// allow it.
pub fn route_admin(cmd: &Command) -> Result<AdminRoute> {
    if let Some(q) = ProtocolQuery::from_admin(cmd) {
        return Ok(AdminRoute::Query(q));
    }
    let opc = AdminOpcode(cmd.opc);
    Ok(match opc {
        AdminOpcode::SET_FEATURES => AdminRoute::SetFeatures,
        AdminOpcode::FW_COMMIT
        | AdminOpcode::FW_DOWNLOAD
        | AdminOpcode::DEVICE_SELF_TEST
        | AdminOpcode::FORMAT_NVM
        | AdminOpcode::SECURITY_SEND
        | AdminOpcode::SECURITY_RECV
        | AdminOpcode::SANITIZE => AdminRoute::Raw,
        _ if cmd.opc >= 0xc0 => AdminRoute::Raw,
        _ => {
            return Err(not_allowed(
                "admin",
                cmd.opc,
                opc.name().unwrap_or("(unknown)"),
            ));
        }
    })
}

/// The path an I/O command takes, or the error saying StorNVMe does not
/// allow it.
pub fn route_io(cmd: &Command) -> Result<IoRoute> {
    let opc = NvmOpcode(cmd.opc);
    Ok(match opc {
        NvmOpcode::READ => IoRoute::Read,
        NvmOpcode::WRITE => IoRoute::Write,
        NvmOpcode::FLUSH => IoRoute::Flush,
        _ if cmd.opc >= 0x80 => IoRoute::Raw,
        _ => {
            return Err(not_allowed(
                "I/O",
                cmd.opc,
                opc.name().unwrap_or("(unknown)"),
            ));
        }
    })
}

/// Checks an admin command's buffer against what the command moves (the
/// shared rules of `be/xfer_check.rs`) before StorNVMe sees it: the
/// driver sizes its transfer from the buffer, the device from the command.
pub fn check_admin_buffer(cmd: &Command, len: usize) -> Result<()> {
    nvmx_core::be::xfer_check::check_admin("nvme", cmd, len).map(|_| ())
}

/// A completion whose status is `st` (for statuses decided on the host).
pub fn completion_with(st: Status) -> Completion {
    Completion::with_status(st)
}

#[cfg(test)]
mod tests;
