//! Directives on [`Device`]: Directive Send and Receive, the Identify
//! directive (return parameters; enable or disable a directive type) and
//! the Streams directive (return parameters, get status, allocate
//! resources, release an identifier or every resource).
//!
//! Writes carry a directive with [`Device::write_directive`] (DTYPE 1 and
//! a stream identifier for streams; DTYPE 2 and a placement identifier
//! for Flexible Data Placement, see [`crate::fdp`]).

use nvmx_spec::Completion;
use nvmx_spec::cmd::dtype;
use nvmx_spec::directive::{
    Directive, IdentifyDirectiveParams, StreamsParams, identify_op, stream_status_ids, streams_op,
};
use zerocopy::FromBytes;

use crate::be::DataBuf;
use crate::device::Device;
use crate::error::{Error, Result};

fn numd(nbytes: usize) -> Result<u32> {
    if nbytes == 0 {
        return Ok(0);
    }
    if !nbytes.is_multiple_of(4) {
        return Err(Error::misaligned(
            "directive buffer",
            format!("{nbytes} bytes; must be a multiple of 4"),
        ));
    }
    u32::try_from(nbytes / 4 - 1).map_err(|_| {
        Error::too_large(
            "directive buffer",
            nbytes as u64,
            4 << 32,
            "bytes NUMD counts",
        )
    })
}

impl Device {
    /// Directive Send on the device's namespace: operation `doper` of
    /// directive type `dtype`, with `dspec`, operation specific `cdw12`
    /// and an optional payload (a multiple of 4 bytes).
    pub fn dir_send(
        &self,
        dtype: u8,
        doper: u8,
        dspec: u16,
        cdw12: u32,
        data: Option<&[u8]>,
    ) -> Result<Completion> {
        let d = Directive {
            nsid: self.nsid(),
            numd: numd(data.map_or(0, <[u8]>::len))?,
            doper,
            dtype,
            dspec,
            cdw12,
        };
        let mut cmd = d.to_command(true);
        self.cmd_admin(&mut cmd, data.map_or(DataBuf::None, DataBuf::Out))
    }

    /// Directive Receive on the device's namespace into `buf` (a multiple
    /// of 4 bytes, possibly empty).
    pub fn dir_recv(
        &self,
        dtype: u8,
        doper: u8,
        dspec: u16,
        cdw12: u32,
        buf: &mut [u8],
    ) -> Result<Completion> {
        let d = Directive {
            nsid: self.nsid(),
            numd: numd(buf.len())?,
            doper,
            dtype,
            dspec,
            cdw12,
        };
        let mut cmd = d.to_command(false);
        let data = if buf.is_empty() {
            DataBuf::None
        } else {
            DataBuf::In(buf)
        };
        self.cmd_admin(&mut cmd, data)
    }

    /// The Identify directive's return parameters: the directive types
    /// supported, enabled and persistent.
    pub fn dir_identify(&self) -> Result<IdentifyDirectiveParams> {
        let mut buf = vec![0u8; 4096];
        self.dir_recv(
            dtype::IDENTIFY,
            identify_op::RECV_RETURN_PARAMS,
            0,
            0,
            &mut buf,
        )?;
        IdentifyDirectiveParams::read_from_bytes(&buf).map_err(|_| {
            Error::bad_reply(
                "Directive Receive",
                "Identify return parameters are not 4096 bytes",
            )
        })
    }

    /// Enables (`enable`) or disables directive type `tdtype` for the
    /// device's namespace (Identify directive, Enable Directive).
    pub fn dir_enable(&self, tdtype: u8, enable: bool) -> Result<Completion> {
        if tdtype == dtype::IDENTIFY {
            return Err(Error::invalid(
                "directive type",
                "the Identify directive is always enabled; name another type",
            ));
        }
        let d = Directive::enable(self.nsid(), tdtype, enable);
        let mut cmd = d.to_command(true);
        self.cmd_admin(&mut cmd, DataBuf::None)
    }

    /// The Streams directive's return parameters.
    pub fn streams_params(&self) -> Result<StreamsParams> {
        let mut buf = [0u8; 32];
        self.dir_recv(
            dtype::STREAMS,
            streams_op::RECV_RETURN_PARAMS,
            0,
            0,
            &mut buf,
        )?;
        StreamsParams::read_from_bytes(&buf).map_err(|_| {
            Error::bad_reply(
                "Directive Receive",
                "Streams return parameters are not 32 bytes",
            )
        })
    }

    /// The open stream identifiers of the namespace (Streams, Get Status).
    pub fn streams_status(&self) -> Result<Vec<u16>> {
        // Up to 65535 open streams of 2 bytes, plus the count.
        let mut buf = vec![0u8; 128 * 1024];
        self.dir_recv(dtype::STREAMS, streams_op::RECV_GET_STATUS, 0, 0, &mut buf)?;
        Ok(stream_status_ids(&buf).collect())
    }

    /// Asks for `nsr` streams for the namespace; returns how many were
    /// allocated.
    pub fn streams_allocate(&self, nsr: u16) -> Result<u16> {
        let cpl = self.dir_recv(
            dtype::STREAMS,
            streams_op::RECV_ALLOCATE_RESOURCES,
            0,
            u32::from(nsr),
            &mut [],
        )?;
        Ok(cpl.cdw0 as u16)
    }

    /// Releases stream identifier `id`.
    pub fn streams_release_id(&self, id: u16) -> Result<Completion> {
        self.dir_send(dtype::STREAMS, streams_op::SEND_RELEASE_ID, id, 0, None)
    }

    /// Releases every stream resource of the namespace.
    pub fn streams_release_resources(&self) -> Result<Completion> {
        self.dir_send(
            dtype::STREAMS,
            streams_op::SEND_RELEASE_RESOURCES,
            0,
            0,
            None,
        )
    }
}
