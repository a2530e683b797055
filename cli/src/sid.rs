//! `corral sid capability NAME…` and `corral sid profile NAME`: the SIDs
//! Windows derives for AppContainer capabilities and profiles.

use clap::{Args, Subcommand};
use corral_backend_windows::sid::{capability_sids, profile_sid};
use serde_json::json;

use crate::common::{self, EXIT_OK, Format};

#[derive(Args, Debug)]
pub struct SidArgs {
    #[command(subcommand)]
    command: SidCommand,
}

#[derive(Subcommand, Debug)]
enum SidCommand {
    /// The capability SID (`S-1-15-3-…`) and group SID (`S-1-5-32-…`) of each name.
    Capability {
        /// Capability names, e.g. `internetClient`, `registryRead`.
        #[arg(value_name = "NAME", required = true)]
        names: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// The AppContainer SID (`S-1-15-2-…`) of a profile name.
    Profile {
        /// The profile name, e.g. `Microsoft.MicrosoftEdge_8wekyb3d8bbwe`.
        #[arg(value_name = "NAME")]
        name: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

pub fn run(args: &SidArgs) -> u8 {
    match &args.command {
        SidCommand::Capability { names, format } => {
            let mut out = Vec::new();
            for name in names {
                match capability_sids(name) {
                    Ok(s) => out.push(s),
                    Err(e) => {
                        return common::usage_error(&format!("not a capability name: {}", e.message(name)));
                    }
                }
            }
            match format {
                Format::Human => {
                    for s in &out {
                        println!("{}  {}  {}", s.name, s.capability, s.group);
                    }
                }
                Format::Json => common::print_json(&json!({
                    "version": 1,
                    "capabilities": out
                        .iter()
                        .map(|s| json!({ "name": s.name, "sid": s.capability, "groupSid": s.group }))
                        .collect::<Vec<_>>(),
                })),
            }
        }
        SidCommand::Profile { name, format } => {
            let sid = match profile_sid(name) {
                Ok(s) => s,
                Err(e) => return common::usage_error(&format!("not a profile name: {}", e.message(name))),
            };
            match format {
                Format::Human => println!("{name}  {sid}"),
                Format::Json => {
                    common::print_json(&json!({ "version": 1, "profile": { "name": name, "sid": sid } }))
                }
            }
        }
    }
    EXIT_OK
}
