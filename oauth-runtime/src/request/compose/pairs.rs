//! The template's query pairs, queued while the request is composed and written into its URL
//! in one go (each use of the URL's query setter costs a setup of its own).

/// Pairs queued in the composed text after the origin (the text is free once the URL is
/// parsed): where each key and value ends.
#[derive(Default)]
pub(super) struct QueuedPairs {
    ends: [(usize, usize); 8],
    count: usize,
}

impl QueuedPairs {
    /// Queues `key=value`; `text` is the composed text, `start` where the queue begins in it.
    pub(super) fn push(
        &mut self,
        url: &mut url::Url,
        text: &mut String,
        start: usize,
        key: &str,
        value: &str,
    ) {
        if self.count == self.ends.len() {
            self.flush(url, text, start);
        }
        if self.count == 0 {
            text.truncate(start);
        }
        text.push_str(key);
        let key_end = text.len();
        text.push_str(value);
        if let Some(end) = self.ends.get_mut(self.count) {
            *end = (key_end, text.len());
            self.count += 1;
        }
    }

    /// Appends the queued pairs to `url`'s query, form-encoded.
    pub(super) fn flush(&mut self, url: &mut url::Url, text: &mut String, start: usize) {
        if self.count == 0 {
            return;
        }
        let mut serializer = url.query_pairs_mut();
        let mut at = start;
        for &(key_end, value_end) in self.ends.iter().take(self.count) {
            let key = text.get(at..key_end).unwrap_or("");
            let value = text.get(key_end..value_end).unwrap_or("");
            serializer.append_pair(key, value);
            at = value_end;
        }
        drop(serializer);
        text.truncate(start);
        self.count = 0;
    }
}
