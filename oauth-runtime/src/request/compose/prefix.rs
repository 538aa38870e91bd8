//! A path prefix value kept parsed while it repeats. A template whose path begins with a value
//! (`<%= context.base_path %>/tickets/<%= context.id %>`) cannot keep its path parsed with the
//! URL's fixed start, but the prefix is nearly always the same for a client: the first one it
//! composes is kept, with the literal text after it, appended to the origin; a call sending the
//! same prefix copies that URL and skips the text, as if the prefix were part of the start.

use super::fixed::{FixedPart, Prefixed};
use super::literal::PathPart;
use super::segments::Segments;
use super::{Compose, FixedStart};

/// Where a call is with the kept prefix.
pub(super) enum PrefixMemo<'c> {
    None,
    /// This call's prefix is the kept one, whose URL it copied: `met` bytes of the text that
    /// followed the kept one have been met since, and skipped.
    Replaying {
        kept: &'c Prefixed,
        met: usize,
    },
    /// The start keeps no prefix yet: this call's, and the text after it, are gathered, to be
    /// kept when the next value comes.
    Recording {
        fixed: &'c FixedPart,
        prefix: Box<str>,
        text: String,
    },
}

impl<'c> Compose<'c> {
    /// Copies the kept prefix's URL when `value` is it; true then, and nothing else is done.
    pub(super) fn replay_prefix(&mut self, value: &str) -> bool {
        let FixedStart::Kept(fixed, _) = self.fixed else {
            return false;
        };
        match fixed.prefixed() {
            Some(Some(kept)) if *kept.prefix == *value => {
                self.segments = Segments::appending(kept.url.clone(), kept.open);
                self.prefix = PrefixMemo::Replaying { kept, met: 0 };
                true
            }
            Some(_) => false,
            None => {
                self.prefix = PrefixMemo::Recording {
                    fixed,
                    prefix: value.into(),
                    text: String::new(),
                };
                false
            }
        }
    }

    /// Literal path text after the prefix: skipped when it is the kept prefix's; gathered when
    /// the prefix is to be kept. False when the caller is to compose it.
    pub(super) fn prefix_text(&mut self, text: &str) -> bool {
        match &mut self.prefix {
            PrefixMemo::None => false,
            PrefixMemo::Replaying { kept, met } => {
                let rest = kept.text.get(*met..).unwrap_or("");
                if rest.starts_with(text) {
                    *met += text.len();
                    return true;
                }
                self.stop_replaying();
                false
            }
            PrefixMemo::Recording {
                fixed,
                text: gathered,
                ..
            } => {
                // A query in the text: the template's path is parsed whole, at every call.
                if text.contains('?') {
                    fixed.keep_prefixed(None);
                    self.prefix = PrefixMemo::None;
                } else {
                    gathered.push_str(text);
                }
                false
            }
        }
    }

    /// The literal parts at the start of `parts` that are the kept prefix's text, met and
    /// skipped; at a value after them the prefix ends (its text all met, the URL copied is
    /// this call's), and the parts left are appended as they come. A part that strays from the
    /// kept text ends the replay (see [`prefix_text`](Self::prefix_text)), and is left.
    pub(super) fn meet_kept_text<'p, 'v>(
        &mut self,
        parts: &'p [PathPart<'v>],
    ) -> &'p [PathPart<'v>] {
        let mut rest = parts;
        while let Some((PathPart::Literal(text), more)) = rest.split_first() {
            if !self.prefix_text(text.text()) {
                return rest;
            }
            rest = more;
        }
        if !rest.is_empty() {
            self.end_prefix();
        }
        rest
    }

    /// The prefix's part of the path is over (a value, the query, the end): a prefix being
    /// gathered is kept if its path was appended segment by segment; one replayed must have
    /// met all its text, or the path is made again without the copy.
    #[inline]
    pub(super) fn end_prefix(&mut self) {
        // Most templates begin their path with text: nothing to end, at every value and pair.
        if !matches!(self.prefix, PrefixMemo::None) {
            self.end_kept_prefix();
        }
    }

    fn end_kept_prefix(&mut self) {
        match std::mem::replace(&mut self.prefix, PrefixMemo::None) {
            PrefixMemo::None => {}
            PrefixMemo::Replaying { kept, met } => {
                if met != kept.text.len() {
                    self.prefix = PrefixMemo::Replaying { kept, met };
                    self.stop_replaying();
                }
            }
            PrefixMemo::Recording {
                fixed,
                prefix,
                text,
            } => {
                match (&self.segments, &self.draft.error) {
                    // A value's error is this call's: a later one may keep its prefix.
                    (_, Some(_)) => {}
                    (Segments::Appending { url, open, .. }, None) => {
                        fixed.keep_prefixed(Some(Prefixed {
                            prefix,
                            text: text.into(),
                            url: url.clone(),
                            open: *open,
                        }));
                    }
                    // The prefix was appended (see `prefix_appended`): its text needs the whole
                    // path parsed, at every call.
                    _ => {
                        fixed.keep_prefixed(None);
                    }
                }
            }
        }
    }

    /// After the prefix is composed: one that could not be appended to the origin (its value
    /// needs the whole path parsed) is not gathered; that is this value's, not the template's.
    pub(super) fn prefix_appended(&mut self) {
        if matches!(self.prefix, PrefixMemo::Recording { .. })
            && !matches!(self.segments, Segments::Appending { .. })
        {
            self.prefix = PrefixMemo::None;
        }
    }

    /// The text met differs from the kept prefix's: the path is made again as this call
    /// composes it, from the origin, the prefix and the text met so far.
    fn stop_replaying(&mut self) {
        let PrefixMemo::Replaying { kept, met } =
            std::mem::replace(&mut self.prefix, PrefixMemo::None)
        else {
            return;
        };
        self.segments = Segments::Pending;
        self.compose_prefix(&kept.prefix);
        if let Some(text) = kept.text.get(..met) {
            self.path_text(text);
        }
    }
}
