//! The mapping of Corral rights to Landlock filesystem accesses, by ABI.

use std::collections::BTreeSet;

use corral_compiler::ir::Right;

/// The highest Landlock ABI this build knows.
pub const LATEST_ABI: u8 = 7;

/// Every filesystem access, in landlockconfig order, with the ABI that
/// introduced it and whether it applies to a single file.
const FS_ACCESSES: [(&str, u8, bool); 16] = [
    ("execute", 1, true),
    ("write_file", 1, true),
    ("read_file", 1, true),
    ("read_dir", 1, false),
    ("remove_dir", 1, false),
    ("remove_file", 1, false),
    ("make_char", 1, false),
    ("make_dir", 1, false),
    ("make_reg", 1, false),
    ("make_sock", 1, false),
    ("make_fifo", 1, false),
    ("make_block", 1, false),
    ("make_sym", 1, false),
    ("refer", 2, false),
    ("truncate", 3, true),
    ("ioctl_dev", 5, true),
];

/// The accesses one Corral right stands for (before ABI filtering).
/// `refer` (moving and linking between directories) needs both create and
/// delete, so it is added in [`fs_accesses`].
pub fn right_accesses(right: Right) -> &'static [&'static str] {
    match right {
        Right::Read => &["read_file"],
        Right::List => &["read_dir"],
        Right::Write => &["write_file", "truncate", "ioctl_dev"],
        Right::Create => {
            &["make_reg", "make_dir", "make_sym", "make_fifo", "make_sock", "make_char", "make_block"]
        }
        Right::Delete => &["remove_file", "remove_dir"],
        Right::Exec => &["execute"],
    }
}

/// Every filesystem access Landlock ABI `abi` knows: all are handled, so
/// everything not granted is denied.
pub fn handled_fs(abi: u8) -> Vec<&'static str> {
    FS_ACCESSES.iter().filter(|(_, min, _)| *min <= abi).map(|(name, _, _)| *name).collect()
}

/// The accesses granted beneath a path for `rights`, in landlockconfig order.
pub fn fs_accesses(rights: &BTreeSet<Right>, is_dir: bool, abi: u8) -> Vec<&'static str> {
    let mut wanted: BTreeSet<&str> = rights.iter().flat_map(|r| right_accesses(*r).iter().copied()).collect();
    if rights.contains(&Right::Create) && rights.contains(&Right::Delete) {
        wanted.insert("refer");
    }
    FS_ACCESSES
        .iter()
        .filter(|(name, min, on_file)| *min <= abi && (is_dir || *on_file) && wanted.contains(name))
        .map(|(name, _, _)| *name)
        .collect()
}

/// The Corral rights an access stands for (the inverse of the mapping).
pub fn access_rights(access: &str) -> Vec<Right> {
    match access {
        "refer" => vec![Right::Create, Right::Delete],
        _ => Right::ALL.into_iter().filter(|r| right_accesses(*r).contains(&access)).collect(),
    }
}
