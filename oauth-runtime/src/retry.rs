//! When to try a request again, and how long to wait first.

use std::time::{Duration, SystemTime};

use http::StatusCode;
use http::header::{HeaderMap, RETRY_AFTER};

/// Statuses worth another attempt: rate limited (429) or a server error (5xx).
pub(crate) fn retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// The server's `Retry-After`, as delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The wait before the next attempt: the server's `Retry-After` if it gave one, else the
/// template's delay. `None` when the server asks for longer than `max_wait`: then no further
/// attempt is made and its answer is returned.
pub(crate) fn wait_before_retry(
    headers: Option<&HeaderMap>,
    delay: Duration,
    max_wait: Duration,
) -> Option<Duration> {
    match headers.and_then(retry_after) {
        Some(asked) if asked > max_wait => None,
        Some(asked) => Some(asked),
        None => Some(delay),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, value.parse().unwrap());
        headers
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after(&headers("3")), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(&headers(" 0 ")), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        let wait = retry_after(&headers(&later)).unwrap();
        assert!(
            wait > Duration::from_secs(28) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(30));
        assert_eq!(retry_after(&headers(&past)), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers("soon")), None);
        assert_eq!(retry_after(&headers("-1")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn the_wait_is_the_servers_within_the_cap() {
        let delay = Duration::from_millis(500);
        let cap = Duration::from_secs(10);
        assert_eq!(wait_before_retry(None, delay, cap), Some(delay));
        assert_eq!(
            wait_before_retry(Some(&headers("2")), delay, cap),
            Some(Duration::from_secs(2))
        );
        assert_eq!(wait_before_retry(Some(&headers("3600")), delay, cap), None);
        assert_eq!(
            wait_before_retry(Some(&HeaderMap::new()), delay, cap),
            Some(delay)
        );
    }

    #[test]
    fn only_rate_limits_and_server_errors_are_retried() {
        for code in [429, 500, 502, 503, 504] {
            assert!(
                retryable_status(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
        for code in [200, 400, 401, 403, 404, 409] {
            assert!(
                !retryable_status(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
    }
}
