//! Tag listing with `Link` pagination.

use streamsync::registry::{FailureReason, Resolver};

use crate::harness::{Registry, Variant};
use crate::proxy::{Fault, Proxy};
use crate::{client, insecure_config};

#[test]
fn list_tags_follows_pagination() {
    let reg = Registry::start(Variant::Plain);
    let p = reg.pusher();
    let mut want = Vec::new();
    for i in 0..10 {
        let tag = format!("v{i}");
        p.image("paged/app", &tag, "amd64", "same");
        want.push(tag);
    }
    let proxy = Proxy::start(reg.port);
    proxy.set_default(Fault::PaginateTags(4));
    let root = crate::harness::root();
    // The proxy pages by the smaller of its own size (4) and the client's `n` (3).
    let c = client(&insecure_config(), root.path(), None).with_tag_page_size(3);
    let mut tags = c
        .list_tags(&format!("{}/paged/app", proxy.host()), true)
        .expect("tags");
    tags.sort();
    want.sort();
    assert_eq!(tags, want);
    // 10 tags in pages of 3: four pages.
    assert_eq!(c.request_counts()[&proxy.host()].get, 4);
    // Without a page size the registry chooses (4): three pages.
    let c = client(&insecure_config(), root.path(), None);
    let tags = c
        .list_tags(&format!("{}/paged/app", proxy.host()), true)
        .expect("tags");
    assert_eq!(tags.len(), 10);
    assert_eq!(c.request_counts()[&proxy.host()].get, 3);
    let err = c
        .list_tags(&format!("{}/paged/none", reg.host()), true)
        .unwrap_err();
    assert_eq!(err.reason, FailureReason::NotFound);
    let err = c
        .list_tags(&format!("{}/paged/app:v1", reg.host()), true)
        .unwrap_err();
    assert_eq!(err.reason, FailureReason::InternalError);
}

#[test]
fn a_tag_list_is_read_up_to_its_bound() {
    let reg = Registry::start(Variant::Plain);
    let proxy = Proxy::start(reg.port);
    let names: Vec<String> = (0..25_000).map(|i| format!("t{i}")).collect();
    proxy.set_default(Fault::TagList(names, false));
    let root = crate::harness::root();
    let c = client(&insecure_config(), root.path(), None);
    let list = c
        .list_repository(&format!("{}/many/app", proxy.host()), true)
        .expect("tags");
    assert_eq!(list.tags.len(), streamsync::registry::MAX_LISTED_TAGS);
    assert_eq!(list.tags[0], "t0");
    assert_eq!(list.cut.as_deref(), Some("stopped at 10000 tags"));
    assert_eq!(list.skipped, 0);
}
