// One mistake in the config gives one error, not one per use of the client.
#[oauth_runtime::templates(
    requests = "../../../../oauth-runtime/tests/ui/config/skeleton.requests.json"
)]
pub struct Client;

fn main() {
    let runtime = oauth_runtime::Runtime::builder().build().unwrap();
    let client = Client::new(runtime);
    let _ = client.get_ticket(&GetTicketContext { ticket_id: "1".into() });
    let _ = client.list_tickets();
}
