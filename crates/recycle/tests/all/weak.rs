//! Weak handles and the collector.

use std::cell::RefCell;

use recycle::{Gc, Trace, Weak, gc};

use crate::common::{Node, Tally, Token};

#[test]
fn weak_to_collected_cycle_cannot_upgrade() {
    let tally = Tally::new();
    let a = Node::new(0, &tally);
    a.link(&a);
    let w = Gc::downgrade(&a);
    drop(a);
    assert!(w.upgrade().is_some(), "alive until collected");
    assert_eq!(gc::collect(), 1);
    assert!(w.upgrade().is_none());
    assert_eq!(w.strong_count(), 0);
    drop(w); // frees the memory now
}

#[test]
fn weak_parent_pointers_do_not_form_cycles() {
    #[derive(Trace)]
    struct TreeNode {
        parent: RefCell<Weak<TreeNode>>,
        children: RefCell<Vec<Gc<TreeNode>>>,
        #[trace(skip)]
        token: Token,
    }
    let tally = Tally::new();
    let root = Gc::new(TreeNode {
        parent: RefCell::new(Weak::new()),
        children: RefCell::new(vec![]),
        token: tally.token(),
    });
    for _ in 0..3 {
        let child = Gc::new(TreeNode {
            parent: RefCell::new(Gc::downgrade(&root)),
            children: RefCell::new(vec![]),
            token: tally.token(),
        });
        root.children.borrow_mut().push(child);
    }
    let child = root.children.borrow()[0].clone();
    assert!(Gc::ptr_eq(&child.parent.borrow().upgrade().unwrap(), &root));
    drop(child);
    drop(root);
    assert_eq!(tally.dropped(), 4, "freed by counting alone");
    assert_eq!(gc::collect(), 0);
}

#[test]
fn upgrade_during_drop_of_garbage_returns_none() {
    // A garbage value's Drop tries to upgrade a weak handle to another
    // member of the same cycle: destruction has begun, so it gets None.
    #[derive(Trace)]
    struct Peer {
        other: RefCell<Option<Gc<Peer>>>,
        weak_other: RefCell<Weak<Peer>>,
        #[trace(skip)]
        saw: std::rc::Rc<RefCell<Vec<bool>>>,
    }
    impl Drop for Peer {
        fn drop(&mut self) {
            let got = self.weak_other.borrow().upgrade().is_some();
            self.saw.borrow_mut().push(got);
        }
    }
    let saw = std::rc::Rc::new(RefCell::new(vec![]));
    let mk = || {
        Gc::new(Peer {
            other: RefCell::new(None),
            weak_other: RefCell::new(Weak::new()),
            saw: saw.clone(),
        })
    };
    let (a, b) = (mk(), mk());
    *a.other.borrow_mut() = Some(b.clone());
    *b.other.borrow_mut() = Some(a.clone());
    *a.weak_other.borrow_mut() = Gc::downgrade(&b);
    *b.weak_other.borrow_mut() = Gc::downgrade(&a);
    drop((a, b));
    assert_eq!(gc::collect(), 2);
    assert_eq!(*saw.borrow(), [false, false]);
}
