//! Generated code names only fully qualified paths: it compiles without the prelude, and two
//! clients live side by side in one module.

mod no_prelude {
    #![no_implicit_prelude]

    #[::oauth_runtime::templates(requests = "tests/hygiene/first.json")]
    pub struct First;

    #[::oauth_runtime::templates(requests = "tests/hygiene/second.json")]
    pub struct Second;
}

use no_prelude::{First, FirstIparams, GetTicketContext, Second};

#[test]
fn both_clients_compile_and_build_requests_without_the_prelude() {
    let runtime = oauth_runtime::Runtime::builder().build().unwrap();
    let first = First::new(
        runtime.clone(),
        FirstIparams {
            domain: "acme".into(),
            key: "k".into(),
        },
    );
    let request = first.get_ticket(&GetTicketContext {
        id: "7".into(),
        page: None,
    });
    assert!(format!("{request:?}").contains("getTicket"));
    let second = Second::new(runtime);
    assert!(format!("{:?}", second.list_things()).contains("listThings"));
}
