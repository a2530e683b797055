//! Security identifiers of AppContainer profiles and capabilities, derived
//! the way Windows derives them (`userenv!DeriveAppContainerSidFromAppContainerName`
//! and `kernelbase!DeriveCapabilitySidsFromName`), so that a manifest can
//! carry them and a launcher can re-check them.
//!
//! - profile: SHA-256 over the UTF-16LE bytes of the lower-cased name; the
//!   first 7 little-endian `u32` of the digest are the sub-authorities of
//!   `S-1-15-2-…`;
//! - capability: SHA-256 over the UTF-16LE bytes of the upper-cased name;
//!   all 8 little-endian `u32` follow `S-1-15-3-1024-…` (the capability
//!   SID) and `S-1-5-32-…` (the group SID). The 12 capabilities that
//!   predate named capabilities keep their short SIDs `S-1-15-3-1` …
//!   `S-1-15-3-12`.

use sha2::{Digest, Sha256};

/// The capabilities with a fixed SID, in the order of their last
/// sub-authority (`internetClient` is `S-1-15-3-1`).
pub const LEGACY_CAPABILITIES: [&str; 12] = [
    "internetClient",
    "internetClientServer",
    "privateNetworkClientServer",
    "picturesLibrary",
    "videosLibrary",
    "musicLibrary",
    "documentsLibrary",
    "enterpriseAuthentication",
    "sharedUserCertificates",
    "removableStorage",
    "appointments",
    "contacts",
];

/// `S-1-15-2-1`: ALL APPLICATION PACKAGES.
pub const ALL_APPLICATION_PACKAGES: &str = "S-1-15-2-1";
/// `S-1-15-2-2`: ALL RESTRICTED APPLICATION PACKAGES, which a
/// least-privilege AppContainer (LPAC) is not a member of.
pub const ALL_RESTRICTED_APPLICATION_PACKAGES: &str = "S-1-15-2-2";

/// The SIDs of one capability.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapabilitySids {
    pub name: String,
    /// `S-1-15-3-…`: the SID put in the token's capabilities.
    pub capability: String,
    /// `S-1-5-32-…`: the group SID used for services.
    pub group: String,
}

/// Why a name cannot be a profile or capability name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameError {
    Empty,
    /// Windows limits profile names to 64 characters.
    TooLong(usize),
    /// Control characters, `\`, `/` and `,` (the wire delimiter of
    /// BaseContainer capability lists) are not accepted.
    BadCharacter(char),
}

impl NameError {
    pub fn message(&self, name: &str) -> String {
        match self {
            NameError::Empty => "the name is empty".to_owned(),
            NameError::TooLong(n) => format!("`{name}` has {n} characters; at most 64 are allowed"),
            NameError::BadCharacter(c) => format!("`{name}` contains the character {c:?}"),
        }
    }
}

/// The longest AppContainer profile name Windows accepts.
pub const MAX_PROFILE_NAME: usize = 64;

fn check_name(name: &str, max: Option<usize>) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    let len = name.chars().count();
    if let Some(max) = max {
        if len > max {
            return Err(NameError::TooLong(len));
        }
    }
    match name.chars().find(|c| c.is_control() || matches!(c, '\\' | '/' | ',')) {
        Some(c) => Err(NameError::BadCharacter(c)),
        None => Ok(()),
    }
}

fn digest_utf16le(text: &str) -> [u32; 8] {
    let mut hasher = Sha256::new();
    for unit in text.encode_utf16() {
        hasher.update(unit.to_le_bytes());
    }
    let bytes = hasher.finalize();
    let mut out = [0u32; 8];
    for (i, chunk) in bytes.chunks_exact(4).enumerate() {
        if let (Some(slot), Ok(word)) = (out.get_mut(i), <[u8; 4]>::try_from(chunk)) {
            *slot = u32::from_le_bytes(word);
        }
    }
    out
}

fn join(prefix: &str, parts: &[u32]) -> String {
    let mut s = prefix.to_owned();
    for p in parts {
        s.push('-');
        s.push_str(&p.to_string());
    }
    s
}

/// The AppContainer SID of the profile `name` (`S-1-15-2-` and 7
/// sub-authorities).
pub fn profile_sid(name: &str) -> Result<String, NameError> {
    check_name(name, Some(MAX_PROFILE_NAME))?;
    let words = digest_utf16le(&name.to_lowercase());
    Ok(join("S-1-15-2", &words[..7]))
}

/// The capability and group SIDs of the capability `name`.
pub fn capability_sids(name: &str) -> Result<CapabilitySids, NameError> {
    check_name(name, None)?;
    let words = digest_utf16le(&name.to_uppercase());
    let group = join("S-1-5-32", &words);
    let capability = match LEGACY_CAPABILITIES.iter().position(|c| c.eq_ignore_ascii_case(name)) {
        Some(i) => format!("S-1-15-3-{}", i + 1),
        None => join("S-1-15-3-1024", &words),
    };
    Ok(CapabilitySids { name: name.to_owned(), capability, group })
}

/// True for a SID string of the form `S-1-N(-N)*`.
pub fn is_sid(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("S-1-") else { return false };
    !rest.is_empty() && rest.split('-').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_sid_of_edge_matches_the_published_value() {
        assert_eq!(
            profile_sid("Microsoft.MicrosoftEdge_8wekyb3d8bbwe").ok().as_deref(),
            Some("S-1-15-2-3624051433-2125758914-1423191267-1740899205-1073925389-3782572162-737981194")
        );
    }

    #[test]
    fn profile_sids_ignore_case() {
        assert_eq!(
            profile_sid("microsoft.microsoftedge_8wekyb3d8bbwe"),
            profile_sid("MICROSOFT.MICROSOFTEDGE_8WEKYB3D8BBWE")
        );
        assert_ne!(profile_sid("a"), profile_sid("b"));
    }

    #[test]
    fn capability_sid_of_registry_read_matches_the_published_value() {
        let sids = capability_sids("registryRead").ok();
        assert_eq!(
            sids.as_ref().map(|s| s.capability.as_str()),
            Some(
                "S-1-15-3-1024-1065365936-1281604716-3511738428-1654721687-432734479-3232135806-4053264122-3456934681"
            )
        );
        assert_eq!(
            sids.map(|s| s.group),
            Some(
                "S-1-5-32-1065365936-1281604716-3511738428-1654721687-432734479-3232135806-4053264122-3456934681"
                    .to_owned()
            )
        );
    }

    #[test]
    fn legacy_capabilities_keep_their_short_sids() {
        let sid = |n: &str| capability_sids(n).ok().map(|s| s.capability);
        assert_eq!(sid("internetClient").as_deref(), Some("S-1-15-3-1"));
        assert_eq!(sid("internetClientServer").as_deref(), Some("S-1-15-3-2"));
        assert_eq!(sid("privateNetworkClientServer").as_deref(), Some("S-1-15-3-3"));
        assert_eq!(sid("documentsLibrary").as_deref(), Some("S-1-15-3-7"));
        assert_eq!(sid("contacts").as_deref(), Some("S-1-15-3-12"));
        // The group SID is still the hash of the name.
        let group = capability_sids("internetClient").ok().map(|s| s.group).unwrap_or_default();
        assert!(group.starts_with("S-1-5-32-") && group.split('-').count() == 12, "{group}");
    }

    #[test]
    fn capability_sid_of_lpac_com_matches_the_published_value() {
        assert_eq!(
            capability_sids("lpacCom").ok().map(|s| s.capability).as_deref(),
            Some(
                "S-1-15-3-1024-2405443489-874036122-4286035555-1823921565-1746547431-2453885448-3625952902-991631256"
            )
        );
    }

    #[test]
    fn capability_names_are_case_insensitive() {
        assert_eq!(
            capability_sids("REGISTRYREAD").ok().map(|s| s.capability),
            capability_sids("registryRead").ok().map(|s| s.capability)
        );
    }

    #[test]
    fn bad_names_are_rejected() {
        assert_eq!(profile_sid(""), Err(NameError::Empty));
        assert_eq!(profile_sid(&"x".repeat(65)), Err(NameError::TooLong(65)));
        assert_eq!(capability_sids("a,b").map(|s| s.name), Err(NameError::BadCharacter(',')));
        assert!(is_sid("S-1-15-3-1") && !is_sid("S-1-") && !is_sid("S-1-15-x"));
    }
}
