//! The admin commands the ramdisk supports.
//!
//! The ramdisk takes Identify, Get Log Page, Get Features, Set Features,
//! Format NVM and Sanitize. Every other admin opcode (queue management,
//! ...) completes with Invalid Command Opcode.

use nvmx_spec::opcode::AdminOpcode;

/// The admin opcodes the dispatch module runs, for the Commands Supported
/// and Effects log.
pub(super) const SUPPORTED: &[AdminOpcode] = &[
    AdminOpcode::GET_LOG_PAGE,
    AdminOpcode::IDENTIFY,
    AdminOpcode::SET_FEATURES,
    AdminOpcode::GET_FEATURES,
    AdminOpcode::FORMAT_NVM,
    AdminOpcode::SANITIZE,
    AdminOpcode::DIRECTIVE_SEND,
    AdminOpcode::DIRECTIVE_RECV,
];
