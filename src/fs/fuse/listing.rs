//! A READDIRPLUS reply: each name with the entry its lookup gave, or none.

use super::*;
use crate::fs::dir::DirItemPlus;

impl FuseFs {
    /// Sends what fits of `items`; the lookups of those that do not fit are given back.
    pub(super) fn send_listing_plus(&self, items: Vec<DirItemPlus>, mut reply: ReplyDirectoryPlus) {
        let mut items = items.into_iter();
        for p in items.by_ref() {
            let it = &p.item;
            let full = match &p.entry {
                Some(e) => reply.add(
                    INodeNo(it.ino),
                    it.offset,
                    &it.name,
                    &self.ttl(e),
                    &e.attr,
                    self.generation(e),
                ),
                // Node id 0: the kernel links nothing for the name.
                None => {
                    let mut attr = self.core.root_entry().attr;
                    attr.ino = INodeNo(0);
                    attr.kind = it.kind;
                    reply.add(
                        INodeNo(it.ino),
                        it.offset,
                        &it.name,
                        &Duration::ZERO,
                        &attr,
                        Generation(0),
                    )
                }
            };
            if full {
                self.core.forget_listed([p]);
                break;
            }
        }
        self.core.forget_listed(items);
        reply.ok();
    }
}
