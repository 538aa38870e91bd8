//! "Did you mean" for misspelt keys and names.

/// The candidate closest to `input`, if one is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = input.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate.to_ascii_lowercase() == lower {
            return Some(candidate);
        }
        let distance = strsim::damerau_levenshtein(&lower, &candidate.to_ascii_lowercase());
        let limit = (candidate.chars().count().max(input.chars().count()) / 3).max(1);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `help: did you mean `x`?` text, if there is a close candidate.
pub(crate) fn help<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    did_you_mean(input, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_and_case_slips_but_not_strangers() {
        let keys = ["method", "protocol", "host", "path", "headers", "query"];
        assert_eq!(did_you_mean("header", keys), Some("headers"));
        assert_eq!(did_you_mean("Method", keys), Some("method"));
        assert_eq!(did_you_mean("protcol", keys), Some("protocol"));
        assert_eq!(
            did_you_mean("isOauth", ["oauth", "isOAuth"]),
            Some("isOAuth")
        );
        assert_eq!(did_you_mean("body", keys), None);
        assert_eq!(did_you_mean("x", keys), None);
    }
}
