//! The registry of diagnostic codes. Codes and slugs are stable: a code is
//! never reused for another meaning. Each is documented in
//! `docs/diagnostics/CODE.md`.

use serde::Serialize;

macro_rules! codes {
    ($($variant:ident = $code:literal, $slug:literal, $summary:literal;)*) => {
        /// A stable diagnostic code: `C0xxx` syntax, `C1xxx` names and types,
        /// `C2xxx` verification, `C3xxx` backends, `C4xxx` lints, `C9xxx` internal.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// `C1001`
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// `unknown-name`
            pub fn slug(self) -> &'static str {
                match self {
                    $(Code::$variant => $slug,)*
                }
            }

            /// One line on what the code means.
            pub fn summary(self) -> &'static str {
                match self {
                    $(Code::$variant => $summary,)*
                }
            }
        }
    };
}

codes! {
    UnexpectedToken = "C0001", "unexpected-token", "a token the grammar does not allow at this place";
    UnexpectedEof = "C0002", "unexpected-eof", "the file ends in the middle of an item";
    InvalidCharacter = "C0003", "invalid-character", "a character that starts no token";
    UnterminatedString = "C0004", "unterminated-string", "a string literal without its closing quote";
    UnterminatedComment = "C0005", "unterminated-comment", "a block comment without its closing `*/`";
    InvalidEscape = "C0006", "invalid-escape", "an unknown escape sequence in a string";
    IntegerTooLarge = "C0007", "integer-too-large", "a number too large to represent";
    NestingTooDeep = "C0008", "nesting-too-deep", "brackets or `not` nested deeper than the parser accepts";
    UnknownName = "C1001", "unknown-name", "a name that is not defined, imported or built in";
    TypeMismatch = "C1002", "type-mismatch", "operands or a context of different types";
    InvalidPath = "C1003", "invalid-path", "a path literal that is not an absolute, normalised path";
    InvalidHost = "C1004", "invalid-host", "a host literal that is not a valid name, address or CIDR";
    InvalidPort = "C1005", "invalid-port", "a port out of 0..=65535, or a reversed range";
    DuplicateDefinition = "C1006", "duplicate-definition", "two definitions of one name in a module";
    ImportNotFound = "C1007", "import-not-found", "an import that names no module or file";
    ImportCycle = "C1008", "import-cycle", "modules that import each other in a cycle";
    ExtendsCycle = "C1009", "extends-cycle", "policies that extend each other in a cycle";
    RightNotApplicable = "C1010", "right-not-applicable", "a right used on a resource it does not apply to";
    ParamWithoutValue = "C1011", "param-without-value", "a `param` with neither a default nor `--set`";
    UnknownType = "C1012", "unknown-type", "a type annotation that names no type";
    DuplicateSetting = "C1013", "duplicate-setting", "`identity`, `isolation`, `timeout` or `proxy` given twice";
    WeakenedSetting = "C1014", "weakened-setting", "an inherited setting lowered, lengthened or contradicted";
    NotAPolicy = "C1015", "not-a-policy", "`extends` or `within` naming something that is not a policy";
    InvalidDeviceMode = "C1016", "invalid-device-mode", "a mode the device does not have";
    UnknownTier = "C1017", "unknown-tier", "an isolation tier other than process, container, microvm";
    InvalidIdentity = "C1018", "invalid-identity", "a malformed `identity`";
    InvalidProxy = "C1019", "invalid-proxy", "a `proxy` that is not an http(s) URL with host and port";
    InvalidDuration = "C1020", "invalid-duration", "a zero or too large duration";
    CyclicDefinition = "C1021", "cyclic-definition", "definitions that refer to each other in a cycle";
    CannotInferType = "C1022", "cannot-infer-type", "a `let` whose type cannot be inferred";
    InvalidParamValue = "C1023", "invalid-param-value", "a `--set` that names no param of the checked file";
    DefinitionTooDeep = "C1024", "definition-too-deep", "set definitions nested deeper, or expanding further, than the compiler accepts";
    ImportUnreadable = "C1025", "import-unreadable", "an imported file that exists but cannot be read";
    NotASet = "C1026", "not-a-set", "a module or policy used where a set is expected";
    UnknownSafetyCheck = "C1027", "unknown-safety-check", "`allow unsafe` naming no built-in safety check";
    EmptyReason = "C1028", "empty-reason", "an `allow unsafe` or `because` with an empty reason";
    AssertionFailed = "C2001", "assertion-failed", "an assertion that does not hold, with a counterexample";
    VerificationUnknown = "C2002", "verification-unknown", "a proof the solver could not decide in time: not proven";
    UnsafePersistence = "C2003", "unsafe-persistence", "a policy that can change files the host runs later";
    UnsafeExfiltration = "C2004", "unsafe-exfiltration", "a policy that can read secrets and reach the internet";
    UnsafeExecWritable = "C2005", "unsafe-exec-writable", "a policy that can execute files it can write, below `container`";
    WithinViolated = "C2006", "within-violated", "a sub-agent that permits more than the policy it is `within`";
    ArtifactBroader = "C3001", "artifact-broader", "an enforcement artifact that would allow an access the policy denies";
    ArtifactNarrower = "C3002", "artifact-narrower", "an enforcement artifact that denies accesses the policy allows";
    ArtifactUnsupported = "C3003", "artifact-unsupported", "a rule the backend cannot enforce (at the chosen ABI or at all)";
    NamesWithoutDns = "C3004", "names-without-dns", "a policy that names hosts while its network ruleset allows no DNS";
    WindowsIsolationWeaker = "C3010", "windows-isolation-weaker", "a Windows artifact that isolates the agent less than the policy's `isolation`";
    RedundantRule = "C4001", "redundant-rule", "an allow whose accesses other allows already grant";
    DeadRule = "C4002", "dead-rule", "an allow that denies override everywhere";
    UnmatchablePattern = "C4003", "unmatchable-pattern", "a pattern or rule that matches no well-formed path";
    DenyOverlapsNothing = "C4004", "deny-overlaps-nothing", "a deny that overlaps no allow";
    GrantsNothing = "C4005", "grants-nothing", "a policy that permits no access at all";
    NeedlessOptOut = "C4006", "needless-opt-out", "an `allow unsafe` for a safety check that passes anyway";
    AnalysesIncomplete = "C4007", "analyses-incomplete", "analyses stopped when their time budget ran out";
    Internal = "C9001", "internal-error", "a bug in Corral";
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
