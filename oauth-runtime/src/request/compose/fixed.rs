//! The part of a template's request that one client always sends the same: the start of its
//! URL (literal text and installation parameters, up to the first value given at the call)
//! and its headers made of literal text and installation parameters alone. A call composes
//! and checks it (or finds the URL's start kept by an earlier client with the same text, see
//! `starts`) until the client keeps it, at its second call of the template; later calls copy
//! it, and the URLs parsed from it (the origin, the base before the first value), instead of
//! composing and parsing again. The first call keeps nothing, so that a client made for one
//! call (a server of many installations may make one per request) does not pay for keeping what
//! it will not use again. Parsing a host name (IDNA included) costs more than the rest of a
//! request; making a header value (a Base64 API key) costs an allocation or more.

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use http::header::{HeaderName, HeaderValue};

use super::Marks;
use super::segments::Segments;
use crate::error::InvokeError;
use crate::http_clients::Identity;

/// A generated client's installation parameters (`I`) and the fixed parts of its requests
/// (`F`, a struct the macro generates, one [`FixedPart`] field per template method), in one
/// allocation shared by the client's clones: a client made per call (a server of many
/// installations may make one per request) makes one, not two. Either is `()` when the app
/// has none. It reads as the parameters; [`fixed`](Self::fixed) gives the fixed parts.
pub struct Installation<I, F>(Arc<(I, F)>);

impl<I, F: Default> Installation<I, F> {
    /// `iparams`, with fixed parts not composed yet.
    pub fn new(iparams: I) -> Self {
        Installation(Arc::new((iparams, F::default())))
    }
}

impl<I, F> Installation<I, F> {
    /// The fixed parts of the client's requests.
    pub fn fixed(&self) -> &F {
        &self.0.1
    }
}

impl<I, F> Deref for Installation<I, F> {
    type Target = I;

    fn deref(&self) -> &I {
        &self.0.0
    }
}

impl<I, F> Clone for Installation<I, F> {
    fn clone(&self) -> Self {
        Installation(Arc::clone(&self.0))
    }
}

/// As the parameters show themselves (the generated type shows no value); the fixed parts,
/// made of them, are not shown.
impl<I: fmt::Debug, F> fmt::Debug for Installation<I, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.0.fmt(f)
    }
}

/// One template's fixed part of a client's requests: the URL's start (shared by the clients
/// whose start is the same text, see `starts`) and what the client keeps beside it, once
/// composed at its second call. Only its state is written until then (a client made per call
/// makes one per template of the app, and uses one): the rest stays unset, and is not dropped.
/// What it keeps is boxed, so that a client's fixed parts cost it a few words per template
/// until it keeps them (a client made per call allocates and copies them all, for its one call).
#[derive(Default)]
pub struct FixedPart {
    start: OnceLock<Box<Start>>,
    /// The client has composed it once: the next composition is kept.
    composed_once: AtomicBool,
}
// A client made per call pays for every template's, not only the one it calls.
const _: () = assert!(size_of::<FixedPart>() <= 3 * size_of::<usize>());

/// A client's fixed part of a template's request, once composed.
pub(super) struct Start {
    /// The URL's start, shared with the clients whose start is the same text.
    kept: Arc<Kept>,
    /// The headers made of text and installation values alone, made once: the client's own,
    /// as they hold its installation's values (a credential, often). A secure value's header
    /// is marked sensitive; its text lives as long as the client, as the value itself does.
    pub(super) headers: Box<[(HeaderName, HeaderValue)]>,
    /// The client certificate the template presented, when it has one: the same installation
    /// values make the same identity, whose digest is not computed again. The client's own,
    /// as its installation's values are.
    identity: OnceLock<Arc<Identity>>,
    /// The first path prefix value composed after the start, with the literal text after it,
    /// parsed: a call sending the same prefix copies it (see `prefix`). `None` once the text
    /// after the prefix is known to need the whole path parsed: nothing is kept then, and no
    /// call gathers a prefix again. The client's own: a prefix is a call's value, and one
    /// call's value must not decide what the calls of other clients (other installations)
    /// keep.
    prefixed: OnceLock<Option<Box<Prefixed>>>,
}

/// What a fixed URL start keeps once composed.
pub(crate) struct Kept {
    pub(super) composed: Composed,
    /// URLs parsed from the start of the composed text, by the length of the text parsed: a
    /// template asks for at most two (the origin, and the base or its whole fixed path).
    parsed: [OnceLock<(usize, url::Url)>; 2],
}

impl Kept {
    pub(super) fn new(composed: Composed) -> Self {
        Kept {
            composed,
            parsed: Default::default(),
        }
    }
}

/// A path prefix value and the literal path text that followed it, appended to the origin.
pub(super) struct Prefixed {
    pub(super) prefix: Box<str>,
    pub(super) text: Box<str>,
    pub(super) url: url::Url,
    /// Whether the path ended with `/`.
    pub(super) open: bool,
}

/// The state of the composition at the end of the fixed start.
pub(super) struct Composed {
    pub(super) text: Box<str>,
    pub(super) marks: Marks,
    pub(super) segments: Segments,
}

impl Start {
    pub(super) fn composed(&self) -> &Composed {
        &self.kept.composed
    }
}

impl FixedPart {
    pub(super) fn kept(&self) -> Option<&Kept> {
        self.start.get().map(|start| &*start.kept)
    }

    /// Whether this is the client's first composition of it (then not kept: see the module's
    /// docs). Calls racing on a client's first may each count as its first: a later one keeps it.
    pub(super) fn first_composition(&self) -> bool {
        // A load and a store, not an atomic swap: this is on every first call of a client.
        if self.composed_once.load(Ordering::Relaxed) {
            return false;
        }
        self.composed_once.store(true, Ordering::Relaxed);
        true
    }

    /// What the client kept of its start, if it did.
    #[cfg(test)]
    pub(super) fn composed(&self) -> Option<&Composed> {
        self.kept().map(|kept| &kept.composed)
    }

    /// The fixed part, once kept.
    pub(super) fn start(&self) -> Option<&Start> {
        self.start.get().map(|start| &**start)
    }

    /// Keeps the first start, with its fixed headers; the same start composed by a concurrent
    /// call is the same, and is not boxed once one is kept.
    pub(super) fn keep(&self, kept: Arc<Kept>, headers: Box<[(HeaderName, HeaderValue)]>) {
        self.start.get_or_init(|| {
            Box::new(Start {
                kept,
                headers,
                identity: OnceLock::new(),
                prefixed: OnceLock::new(),
            })
        });
    }

    /// Whether its start is the one `other` keeps.
    #[cfg(test)]
    pub(super) fn shares_start_with(&self, other: &FixedPart) -> bool {
        matches!((self.start.get(), other.start.get()), (Some(a), Some(b)) if Arc::ptr_eq(&a.kept, &b.kept))
    }

    /// The prefix kept after the start (see `prefix`), once one is known.
    pub(super) fn prefixed(&self) -> Option<Option<&Prefixed>> {
        self.start.get()?.prefixed.get().map(Option::as_deref)
    }

    /// Keeps the first prefix known (once the start is kept).
    pub(super) fn keep_prefixed(&self, prefixed: Option<Prefixed>) {
        if let Some(start) = self.start.get() {
            let _ = start.prefixed.set(prefixed.map(Box::new));
        }
    }

    /// The identity kept, if any.
    pub(super) fn identity(&self) -> Option<&Arc<Identity>> {
        self.start.get()?.identity.get()
    }

    /// Keeps the first identity made (once the start is kept).
    pub(super) fn keep_identity(&self, identity: &Arc<Identity>) {
        if let Some(start) = self.start.get() {
            let _ = start.identity.set(identity.clone());
        }
    }
}

impl Kept {
    /// The URL parsed from the first `len` bytes of the composed text; `parse` makes it (and
    /// checks its host) the first time.
    pub(super) fn parsed(
        &self,
        len: usize,
        parse: impl FnOnce() -> Result<url::Url, Box<InvokeError>>,
    ) -> Result<url::Url, Box<InvokeError>> {
        for slot in &self.parsed {
            match slot.get() {
                Some((parsed_len, url)) if *parsed_len == len => return Ok(url.clone()),
                Some(_) => {}
                None => {
                    let url = parse()?;
                    let _ = slot.set((len, url.clone()));
                    return Ok(url);
                }
            }
        }
        parse()
    }
}
