//! Policy paths and Windows paths.
//!
//! Policy paths are POSIX-style and absolute (`~` is already bound to the
//! home directory). On a Windows target they map as follows, and back:
//!
//! - the home directory and everything below it → `%USERPROFILE%\…`
//!   (expanded by the apply script, so one manifest serves every user);
//! - every other absolute path `/a/b` → `D:\a\b` on the drive chosen with
//!   `--drive` (default `C`), so `/usr/lib` is `C:\usr\lib` and `/` is
//!   `C:\`.
//!
//! The mapping is one-to-one, so a Windows path reads back to one policy
//! path ([`PathMapper::to_policy`]), under one assumption the docs state:
//! the profile directory is not also reachable as a mapped path (for
//! example as `/Users/u`). Windows compares names without regard to case;
//! validation folds case on both sides.

/// The placeholder for the user's profile directory.
pub const USERPROFILE: &str = "%USERPROFILE%";

/// Maps policy paths to Windows paths and back.
#[derive(Clone, Debug)]
pub struct PathMapper {
    /// The policy's home directory, as segments (`/home/u` → `["home", "u"]`).
    home: Vec<String>,
    /// The drive of paths outside the home that name no drive, upper case.
    drive: char,
    /// The Windows directory the home stands for (`%USERPROFILE%`).
    profile_dir: String,
}

impl PathMapper {
    /// `home` is the directory `~` was bound to; `drive` a letter.
    pub fn new(home: &str, drive: char) -> PathMapper {
        PathMapper::with_profile_dir(home, drive, USERPROFILE)
    }

    /// A mapper that writes the home as `profile_dir` (for example
    /// `C:\Users\u`) instead of `%USERPROFILE%`.
    pub fn with_profile_dir(home: &str, drive: char, profile_dir: &str) -> PathMapper {
        let home = home.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect();
        let profile_dir = profile_dir.trim_end_matches('\\').to_owned();
        PathMapper { home, drive: drive.to_ascii_uppercase(), profile_dir }
    }

    pub fn drive(&self) -> char {
        self.drive
    }

    /// The home directory's segments.
    pub fn home(&self) -> &[String] {
        &self.home
    }

    /// True when `segments` is the home directory or lies below it.
    pub fn in_home(&self, segments: &[String]) -> bool {
        segments.len() >= self.home.len() && segments.iter().zip(&self.home).all(|(a, b)| a == b)
    }

    /// True when `segments` is a strict ancestor of the home directory.
    pub fn above_home(&self, segments: &[String]) -> bool {
        segments.len() < self.home.len() && self.home.iter().zip(segments).all(|(a, b)| a == b)
    }

    /// The Windows path of the policy path with these segments.
    pub fn to_windows(&self, segments: &[String]) -> String {
        if !self.home.is_empty() && self.in_home(segments) {
            return join(&self.profile_dir, segments.get(self.home.len()..).unwrap_or_default());
        }
        join(&format!("{}:", self.drive), segments)
    }

    /// The policy path (as segments) that the Windows path `path` stands
    /// for, in a list (empty or one), or `None` for a path this mapping
    /// never produces.
    pub fn to_policy(&self, path: &str) -> Option<Vec<Vec<String>>> {
        let dir = self.profile_dir.to_lowercase();
        let lower = path.to_lowercase();
        if lower == dir || lower.starts_with(&format!("{dir}\\")) {
            let rest = path.get(self.profile_dir.len()..).unwrap_or_default();
            let rest: Vec<String> = rest.split('\\').filter(|s| !s.is_empty()).map(str::to_owned).collect();
            if rest.iter().any(|s| s == "." || s == ".." || s.contains('/')) {
                return None;
            }
            let mut segs = self.home.clone();
            segs.extend(rest);
            return Some(vec![segs]);
        }
        let parts: Vec<&str> = path.split('\\').collect();
        let (head, rest) = parts.split_first()?;
        let rest: Vec<String> = rest.iter().filter(|s| !s.is_empty()).map(|s| (*s).to_owned()).collect();
        if rest.iter().any(|s| s == "." || s == ".." || s.contains('/')) {
            return None;
        }
        let mut chars = head.chars();
        let (Some(letter), Some(':'), None) = (chars.next(), chars.next(), chars.next()) else {
            return None;
        };
        if !letter.eq_ignore_ascii_case(&self.drive) {
            return None;
        }
        Some(vec![rest])
    }
}

fn join(head: &str, rest: &[String]) -> String {
    if rest.is_empty() {
        return format!("{head}\\");
    }
    let mut s = head.to_owned();
    for seg in rest {
        s.push('\\');
        s.push_str(seg);
    }
    s
}

/// `segments` as a policy path.
pub fn policy_path(segments: &[String]) -> String {
    if segments.is_empty() { "/".to_owned() } else { format!("/{}", segments.join("/")) }
}

/// Characters a Windows file name cannot hold; a policy path with one of
/// them names no Windows file.
pub fn has_invalid_windows_char(segment: &str) -> bool {
    segment.chars().any(|c| c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*' | '\\'))
}

/// A PowerShell single-quoted string literal: `'` is doubled, nothing is
/// expanded.
pub fn ps_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Vec<String> {
        p.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }

    #[test]
    fn home_and_the_drive() {
        let m = PathMapper::new("/home/u", 'c');
        assert_eq!(m.to_windows(&segs("/home/u/.ssh")), r"%USERPROFILE%\.ssh");
        assert_eq!(m.to_windows(&segs("/home/u")), r"%USERPROFILE%\");
        assert_eq!(m.to_windows(&segs("/c/Users/u/src")), r"C:\c\Users\u\src");
        assert_eq!(m.to_windows(&segs("/usr/lib")), r"C:\usr\lib");
        assert_eq!(m.to_windows(&segs("/")), r"C:\");
        assert_eq!(PathMapper::new("/home/u", 'D').to_windows(&segs("/srv/ci")), r"D:\srv\ci");
    }

    #[test]
    fn windows_paths_read_back_to_the_policy_path_they_stand_for() {
        let m = PathMapper::new("/home/u", 'C');
        assert_eq!(m.to_policy(r"%USERPROFILE%\.ssh"), Some(vec![segs("/home/u/.ssh")]));
        assert_eq!(m.to_policy(r"C:\usr\lib"), Some(vec![segs("/usr/lib")]));
        assert_eq!(m.to_policy(r"c:\usr\lib"), Some(vec![segs("/usr/lib")]));
        assert_eq!(m.to_policy(r"E:\data"), None);
        assert_eq!(m.to_policy(r"C:\"), Some(vec![segs("/")]));
        assert_eq!(m.to_policy(r"\\server\share"), None);
        assert_eq!(m.to_policy(r"C:\a\..\b"), None);
        for p in ["/usr/lib", "/home/u/src/app", "/c/x", "/", "/home"] {
            let back = m.to_policy(&m.to_windows(&segs(p))).unwrap_or_default();
            assert_eq!(back, vec![segs(p)], "{p}");
        }
    }

    #[test]
    fn a_profile_directory_replaces_the_placeholder() {
        let m = PathMapper::with_profile_dir("/home/u", 'C', r"C:\Users\u");
        assert_eq!(m.to_windows(&segs("/home/u/src")), r"C:\Users\u\src");
        assert_eq!(m.to_policy(r"c:\users\U\src"), Some(vec![segs("/home/u/src")]));
    }

    #[test]
    fn powershell_quoting_doubles_single_quotes() {
        assert_eq!(ps_quote(r"C:\it's here\$x"), r"'C:\it''s here\$x'");
        assert!(has_invalid_windows_char("a*b") && !has_invalid_windows_char("a b"));
    }
}
