//! Pieces of a URL waiting to be appended: each call of the URL's path or query setter has a
//! fixed cost (the URL's tail set aside and put back), so a request's segments are appended in
//! one call, and its query pairs in another, as a request built by hand appends them.

/// Up to `N` pieces of text held at the end of the composer's text buffer, from `start`.
#[derive(Clone, Copy)]
pub(super) struct Queue<const N: usize> {
    start: usize,
    ends: [usize; N],
    count: usize,
}

impl<const N: usize> Default for Queue<N> {
    fn default() -> Self {
        Queue {
            start: 0,
            ends: [0; N],
            count: 0,
        }
    }
}

impl<const N: usize> Queue<N> {
    /// Room for `pieces` more.
    pub(super) fn has_room(&self, pieces: usize) -> bool {
        self.count + pieces <= N
    }

    /// Holds `piece` at the end of `text`; false when the queue is full.
    pub(super) fn push(&mut self, text: &mut String, piece: &str) -> bool {
        let Some(end) = self.ends.get_mut(self.count) else {
            return false;
        };
        if self.count == 0 {
            self.start = text.len();
        }
        text.push_str(piece);
        *end = text.len();
        self.count += 1;
        true
    }

    pub(super) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The pieces held, in order, read from `text`.
    pub(super) fn pieces<'q, 't>(&'q self, text: &'t str) -> impl Iterator<Item = &'t str> + 'q
    where
        't: 'q,
    {
        let mut from = self.start;
        let ends = self.ends.get(..self.count).unwrap_or_default();
        ends.iter().map(move |&end| {
            let piece = text.get(from..end).unwrap_or_default();
            from = end;
            piece
        })
    }

    /// Empties the queue, and `text` of its pieces.
    pub(super) fn clear(&mut self, text: &mut String) {
        if self.count > 0 {
            text.truncate(self.start);
            self.count = 0;
        }
    }
}
