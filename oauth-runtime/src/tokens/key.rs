//! Which token: [`TokenKey`], an [`InstallationId`], an integration and a [`Subject`] (the
//! installation, or one [`UserId`]).

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// One installation of the app: an account that installed it, whose tokens (and
/// `oauth_iparams`) are its own. A backend serving one account uses the default installation
/// and never names one; a backend serving many names each ([`crate::Runtime::installation`]).
///
/// Cheap to clone. Its id is the app's own (an account id, a domain): it appears in logs and
/// errors, so it must not be a secret.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstallationId(Option<Arc<str>>);

impl InstallationId {
    /// The installation `id`; the empty id is the default installation.
    pub fn new(id: impl AsRef<str>) -> Self {
        match id.as_ref() {
            "" => InstallationId(None),
            id => InstallationId(Some(Arc::from(id))),
        }
    }

    /// The id; empty for the default installation (as stores keep it).
    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }

    /// Whether this is the default installation.
    pub fn is_default(&self) -> bool {
        self.0.is_none()
    }
}

impl fmt::Debug for InstallationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(id) => write!(f, "InstallationId({id:?})"),
            None => f.write_str("InstallationId(default)"),
        }
    }
}

/// `installation \`acme\``, or `the default installation`.
impl fmt::Display for InstallationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(id) => write!(f, "installation `{id}`"),
            None => f.write_str("the default installation"),
        }
    }
}

impl From<&str> for InstallationId {
    fn from(id: &str) -> Self {
        InstallationId::new(id)
    }
}

impl From<String> for InstallationId {
    fn from(id: String) -> Self {
        InstallationId::new(id)
    }
}

/// The end user of an `agent` integration (one token per user). Cheap to clone: every call
/// of a user's template copies it into the request. An id of up to 22 bytes (a number, a short
/// name) is kept inline and copied; a longer one is shared, and its count touched.
#[derive(Clone, PartialEq, Eq)]
pub struct UserId(UserText);

/// A user's id: inline when it fits, shared otherwise. Which one depends only on its length,
/// so that equal ids are equal here too.
#[derive(Clone, PartialEq, Eq)]
enum UserText {
    /// The id's bytes, then zeros.
    Inline {
        len: u8,
        bytes: [u8; INLINE_USER],
    },
    Shared(Arc<str>),
}

/// The longest id kept inline: with its length and the variant's tag, three words.
const INLINE_USER: usize = 22;
const _: () = assert!(size_of::<UserId>() == 3 * size_of::<usize>());

impl UserId {
    /// Wraps the app's own identifier for a user.
    pub fn new(id: impl AsRef<str>) -> Self {
        let id = id.as_ref();
        let mut bytes = [0; INLINE_USER];
        match (bytes.get_mut(..id.len()), u8::try_from(id.len())) {
            (Some(inline), Ok(len)) => {
                inline.copy_from_slice(id.as_bytes());
                UserId(UserText::Inline { len, bytes })
            }
            _ => UserId(UserText::Shared(Arc::from(id))),
        }
    }

    /// The identifier's bytes (UTF-8).
    fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            UserText::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            UserText::Shared(id) => id.as_bytes(),
        }
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Copied from a `str` whole: always UTF-8.
            UserText::Inline { .. } => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            UserText::Shared(id) => id,
        }
    }
}

/// As its text hashes (only the id's bytes, not the inline room after them).
impl Hash for UserId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.as_bytes());
        state.write_u8(0xff);
    }
}

/// In the order of the ids' text.
impl Ord for UserId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // UTF-8 bytes sort as their text does.
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl PartialOrd for UserId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({:?})", self.as_str())
    }
}

impl From<&str> for UserId {
    fn from(id: &str) -> Self {
        UserId::new(id)
    }
}

impl From<String> for UserId {
    fn from(id: String) -> Self {
        UserId::new(id)
    }
}

/// Whose token: the installation's (`account` integrations) or one user's (`agent`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    /// The installation: one token, authorized by an admin.
    Installation,
    /// One end user.
    User(UserId),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Installation => f.write_str("the installation"),
            Subject::User(user) => write!(f, "user `{}`", user.as_str()),
        }
    }
}

/// `subject`, in words, with `installation` when it is not the default one.
pub(crate) fn owner(subject: &Subject, installation: &InstallationId) -> String {
    match (subject, installation.is_default()) {
        (_, true) => subject.to_string(),
        (Subject::Installation, false) => installation.to_string(),
        (Subject::User(_), false) => format!("{subject} of {installation}"),
    }
}

/// Which token: an installation, an integration and a subject.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenKey {
    /// The installation (the default one unless named).
    pub installation: InstallationId,
    /// The integration's name in `oauth_config.json` (`oauth` for the legacy format).
    pub integration: Cow<'static, str>,
    /// Whose token.
    pub subject: Subject,
}

/// A token key's parts, borrowed: what a request looks its token up by, without a key being
/// made (and let go) at each call. The token cache's table hashes its keys as their parts
/// (`TokenKey::as_ref`), so that a lookup by parts finds them.
#[derive(Clone, Copy)]
pub(crate) struct KeyRef<'k> {
    pub(crate) installation: &'k InstallationId,
    pub(crate) integration: &'k str,
    pub(crate) subject: &'k Subject,
}

impl KeyRef<'_> {
    /// Whether `key` has these parts. The user first: keys in a map mostly differ by it. An
    /// integration's name is most often the same text as the caller's (the template's own
    /// `&'static str`): then it is not read.
    pub(crate) fn is(self, key: &TokenKey) -> bool {
        let theirs = key.integration.as_ref();
        *self.subject == key.subject
            && *self.installation == key.installation
            && (std::ptr::eq(self.integration, theirs) || self.integration == theirs)
    }
}

/// The ids of the installation (ended by `0xff`, never in UTF-8) and of the user, and which of
/// them the key has; not the integration's name: an app has a few integrations (FDK's
/// multi-OAuth, up to three), so keys that differ only by it share a hash and their equality
/// tells them apart. A user's key is hashed at every call of the template: one write of the
/// user's id.
impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        if !self.installation.is_default() {
            state.write(self.installation.as_str().as_bytes());
            state.write_u8(0xff);
        }
        let user = match self.subject {
            Subject::Installation => false,
            Subject::User(user) => {
                state.write(user.as_bytes());
                true
            }
        };
        state.write_u8(u8::from(!self.installation.is_default()) | u8::from(user) << 1);
    }
}

impl TokenKey {
    /// The key of an `account` integration's token, in the default installation.
    pub fn installation(integration: impl Into<Cow<'static, str>>) -> Self {
        TokenKey {
            installation: InstallationId::default(),
            integration: integration.into(),
            subject: Subject::Installation,
        }
    }

    /// The key of one user's token of an `agent` integration, in the default installation.
    pub fn user(integration: impl Into<Cow<'static, str>>, user: UserId) -> Self {
        TokenKey {
            installation: InstallationId::default(),
            integration: integration.into(),
            subject: Subject::User(user),
        }
    }

    /// The same key in `installation`.
    pub fn in_installation(mut self, installation: impl Into<InstallationId>) -> Self {
        self.installation = installation.into();
        self
    }

    /// Whose token, in words: `the installation`, `user \`ana\``, with the installation's id
    /// when it is not the default one (`user \`ana\` of installation \`acme\``).
    pub fn owner(&self) -> String {
        owner(&self.subject, &self.installation)
    }

    /// Its parts, borrowed.
    pub(crate) fn as_ref(&self) -> KeyRef<'_> {
        KeyRef {
            installation: &self.installation,
            integration: &self.integration,
            subject: &self.subject,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher as _;

    use super::UserId;

    /// Ids kept inline (up to 22 bytes) and shared ones read back as given, compare and sort
    /// by their text, and are equal (and hash alike) only to the same text.
    #[test]
    fn user_ids_of_any_length_keep_their_text_order_and_identity() {
        let texts = [
            "",
            "1",
            "82013519023",
            "é-agent",
            "a".repeat(21).as_str(),
            "a".repeat(22).as_str(),
            "a".repeat(23).as_str(),
            "agent@example-company.com",
            "9b2e6a3c-5f41-4d0e-8a7b-1c2d3e4f5a6b",
        ]
        .map(String::from);
        let ids: Vec<UserId> = texts.iter().map(UserId::new).collect();
        for (id, text) in ids.iter().zip(&texts) {
            assert_eq!(id.as_str(), text);
            assert_eq!(id, &UserId::from(text.clone()));
            assert_eq!(format!("{id:?}"), format!("UserId({text:?})"));
            let hasher = std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default();
            assert_eq!(hasher.hash_one(id), hasher.hash_one(text.as_str()));
        }
        let mut sorted = ids.clone();
        sorted.sort();
        let mut by_text: Vec<&str> = texts.iter().map(String::as_str).collect();
        by_text.sort();
        assert_eq!(
            sorted.iter().map(UserId::as_str).collect::<Vec<_>>(),
            by_text
        );
        let distinct: HashSet<UserId> = ids.iter().chain(&ids).cloned().collect();
        assert_eq!(distinct.len(), texts.len());
    }

    /// Keys are equal when their installation, integration and subject are, however the
    /// integration's name is held, and equal keys hash alike.
    #[test]
    fn token_keys_are_equal_by_their_parts_and_hash_alike() {
        use std::borrow::Cow;

        use super::TokenKey;

        let hasher = std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default();
        let keys = [
            TokenKey::installation("crm"),
            TokenKey::installation(Cow::Owned("crm".to_string())),
            TokenKey::installation("desk"),
            TokenKey::installation("hub"),
            TokenKey::user("crm", UserId::new("7")),
            TokenKey::user(Cow::Owned("crm".to_string()), UserId::new("7")),
            TokenKey::user("crm", UserId::new("8")),
            TokenKey::user("crm", UserId::new("")),
            TokenKey::installation("crm").in_installation("acme"),
            TokenKey::user("crm", UserId::new("7")).in_installation("acme"),
            // The installation's id and the user's differ only by which one the key has.
            TokenKey::installation("crm").in_installation("7"),
            // Long ids, kept apart from the inline ones.
            TokenKey::user("crm", UserId::new("u".repeat(40))).in_installation("i".repeat(40)),
            TokenKey::user(Cow::Owned("crm".to_string()), UserId::new("u".repeat(40)))
                .in_installation("i".repeat(40)),
            TokenKey::user("crm", UserId::new("u".repeat(41))).in_installation("i".repeat(40)),
        ];
        for a in &keys {
            for b in &keys {
                let same = a.installation.as_str() == b.installation.as_str()
                    && a.integration == b.integration
                    && a.subject == b.subject;
                assert_eq!(a == b, same, "{a:?} and {b:?}");
                if same {
                    assert_eq!(hasher.hash_one(a), hasher.hash_one(b));
                }
            }
        }
        let distinct: HashSet<&TokenKey> = keys.iter().collect();
        assert_eq!(distinct.len(), 11);
        // The cache hashes keys as their parts: keys of other installations or subjects
        // hash apart; the integration's name is not hashed (an app has a few), and keys
        // differing only by it are told apart by their parts' equality.
        let parts = |key: &TokenKey| hasher.hash_one(key.as_ref());
        for a in &keys {
            for b in &keys {
                let owner = |key: &TokenKey| (key.installation.clone(), key.subject.clone());
                if owner(a) == owner(b) {
                    assert_eq!(parts(a), parts(b), "{a:?} and {b:?}");
                } else {
                    assert_ne!(parts(a), parts(b), "{a:?} and {b:?}");
                }
                assert_eq!(a.as_ref().is(b), a == b, "{a:?} and {b:?}");
            }
        }
        // The ids' bytes do not run into each other.
        let split = |installation: &str, user: &str| {
            parts(&TokenKey::user("crm", UserId::new(user)).in_installation(installation))
        };
        assert_ne!(split("ab", "c"), split("a", "bc"));
    }
}
