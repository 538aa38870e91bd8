// Every bad argument is reported at once: unknown keys (with a did-you-mean), a duplicate key,
// a value of the wrong type.
#[oauth_runtime::templates(
    request = "../../../../oauth-runtime/tests/ui/config/collision.requests.json",
    oauht = "config/oauth_config.json",
    iparams = 3,
    manifest = "a.json",
    manifest = "b.json"
)]
pub struct Client;

fn main() {}
