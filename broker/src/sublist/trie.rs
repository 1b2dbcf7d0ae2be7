//! The subscription trie: one node per subject token, with separate `*` and `>` children.
//!
//! Nodes live in an arena (`Vec`) and refer to each other by index. Every walk (insert,
//! remove, match, collect) is a loop with an explicit stack and dropping the trie drops a
//! flat vector, so no subject, however many tokens it has, can overflow the call stack.
//! Freed slots are reused; the arena is compacted when most of it is free.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use super::result::ResultBuilder;
use super::subset::SubSet;
use crate::subject::{TSEP, is_fwc_token, is_pwc_token, tokens};

/// Index of a node in the arena.
type NodeId = usize;

/// The root node: it stands for the empty prefix and never holds subscriptions.
const ROOT: NodeId = 0;

/// Minimum number of free arena slots before compaction is considered, so small tries never
/// pay for it.
const COMPACT_MIN_FREE: usize = 1024;

/// Compact when free slots exceed this share (in quarters) of the arena: with at most three
/// quarters free, the arena wastes at most 4× the live nodes, and a compaction (O(slots)) is
/// paid for by the removals that freed those slots.
const COMPACT_FREE_QUARTERS: usize = 3;

/// How a token selects a child.
#[derive(Clone, Copy)]
enum Slot<'a> {
    /// A literal token: looked up in the node's map.
    Literal(&'a [u8]),
    /// The `*` token.
    Pwc,
    /// The `>` token.
    Fwc,
}

impl<'a> Slot<'a> {
    /// Classifies a token of a subscription subject.
    fn of(token: &'a [u8]) -> Self {
        if is_pwc_token(token) {
            Slot::Pwc
        } else if is_fwc_token(token) {
            Slot::Fwc
        } else {
            Slot::Literal(token)
        }
    }
}

/// A trie node: the subscriptions whose subject ends at this token, and the next level.
struct Node<T: ?Sized> {
    /// Children for literal tokens.
    literal: HashMap<Box<[u8]>, NodeId>,
    /// Child for a `*` token.
    pwc: Option<NodeId>,
    /// Child for a `>` token.
    fwc: Option<NodeId>,
    /// Plain subscriptions on this exact subject.
    psubs: SubSet<T>,
    /// Queue subscriptions on this exact subject, by queue name. Never holds an empty set.
    qsubs: HashMap<Bytes, SubSet<T>>,
}

impl<T: ?Sized> Node<T> {
    /// A node with no children and no subscriptions.
    fn new() -> Self {
        Self {
            literal: HashMap::new(),
            pwc: None,
            fwc: None,
            psubs: SubSet::default(),
            qsubs: HashMap::new(),
        }
    }

    /// The child selected by `slot`.
    fn child(&self, slot: Slot<'_>) -> Option<NodeId> {
        match slot {
            Slot::Literal(t) => self.literal.get(t).copied(),
            Slot::Pwc => self.pwc,
            Slot::Fwc => self.fwc,
        }
    }

    /// Sets the child selected by `slot`.
    fn set_child(&mut self, slot: Slot<'_>, id: NodeId) {
        match slot {
            Slot::Literal(t) => {
                self.literal.insert(t.into(), id);
            }
            Slot::Pwc => self.pwc = Some(id),
            Slot::Fwc => self.fwc = Some(id),
        }
    }

    /// Unlinks the child selected by `slot`.
    fn unlink_child(&mut self, slot: Slot<'_>) {
        match slot {
            Slot::Literal(t) => {
                self.literal.remove(t);
            }
            Slot::Pwc => self.pwc = None,
            Slot::Fwc => self.fwc = None,
        }
    }

    /// Whether the node holds nothing and can be pruned.
    fn is_empty(&self) -> bool {
        self.literal.is_empty()
            && self.pwc.is_none()
            && self.fwc.is_none()
            && self.psubs.is_empty()
            && self.qsubs.is_empty()
    }

    /// Adds this node's subscriptions to a result.
    fn add_to(&self, out: &mut ResultBuilder<T>) {
        out.add_plain(self.psubs.as_slice());
        for (name, members) in &self.qsubs {
            out.add_queue(name, members.as_slice());
        }
    }

    /// Every child id, for traversals.
    #[cfg(test)]
    fn children(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.literal
            .values()
            .copied()
            .chain(self.pwc)
            .chain(self.fwc)
    }

    /// Rewrites child ids after compaction.
    fn remap(&mut self, map: &[NodeId]) {
        let tr = |id: NodeId| map.get(id).copied().unwrap_or(id);
        for id in self.literal.values_mut() {
            *id = tr(*id);
        }
        self.pwc = self.pwc.map(tr);
        self.fwc = self.fwc.map(tr);
    }
}

/// Queues `node`'s children for a depth-first walk that rebuilds subjects: (child, length of
/// `node`'s subject, child's token).
fn push_children<'a, T: ?Sized>(
    stack: &mut Vec<(NodeId, usize, &'a [u8])>,
    node: &'a Node<T>,
    len: usize,
) {
    for (token, &child) in &node.literal {
        stack.push((child, len, token));
    }
    if let Some(child) = node.pwc {
        stack.push((child, len, b"*"));
    }
    if let Some(child) = node.fwc {
        stack.push((child, len, b">"));
    }
}

/// The subscription trie. Not synchronized: the sublist wraps it in a lock.
pub(crate) struct Trie<T: ?Sized> {
    /// Node arena; `None` marks a free slot. Slot [`ROOT`] is always occupied.
    nodes: Vec<Option<Node<T>>>,
    /// Free slots, reused before the arena grows.
    free: Vec<NodeId>,
}

impl<T: ?Sized> Trie<T> {
    /// An empty trie (just the root).
    pub(crate) fn new() -> Self {
        Self {
            nodes: vec![Some(Node::new())],
            free: Vec::new(),
        }
    }

    fn node(&self, id: NodeId) -> Option<&Node<T>> {
        self.nodes.get(id).and_then(Option::as_ref)
    }

    fn node_mut(&mut self, id: NodeId) -> Option<&mut Node<T>> {
        self.nodes.get_mut(id).and_then(Option::as_mut)
    }

    /// Stores a new empty node and returns its id.
    fn alloc(&mut self) -> NodeId {
        while let Some(id) = self.free.pop() {
            if let Some(slot @ None) = self.nodes.get_mut(id) {
                *slot = Some(Node::new());
                return id;
            }
        }
        self.nodes.push(Some(Node::new()));
        self.nodes.len() - 1
    }

    /// Frees a node's slot.
    fn release(&mut self, id: NodeId) {
        if id != ROOT
            && let Some(slot) = self.nodes.get_mut(id)
            && slot.take().is_some()
        {
            self.free.push(id);
        }
    }

    /// Number of live nodes, the root included (tests only).
    #[cfg(test)]
    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len() - self.free.len()
    }

    /// Adds `sub` under `subject` (well formed, checked by the caller), in queue group
    /// `queue` if given. Returns `false` when that exact subscription is already present.
    pub(crate) fn insert(&mut self, subject: &[u8], queue: Option<&Bytes>, sub: Arc<T>) -> bool {
        let mut cur = ROOT;
        for token in tokens(subject) {
            let slot = Slot::of(token);
            cur = match self.node(cur).and_then(|n| n.child(slot)) {
                Some(next) => next,
                None => {
                    let next = self.alloc();
                    if let Some(n) = self.node_mut(cur) {
                        n.set_child(slot, next);
                    }
                    next
                }
            };
        }
        let Some(node) = self.node_mut(cur) else {
            return false;
        };
        match queue {
            None => node.psubs.insert(sub),
            Some(q) => match node.qsubs.get_mut(q) {
                Some(set) => set.insert(sub),
                None => {
                    let mut set = SubSet::default();
                    set.insert(sub);
                    node.qsubs.insert(q.clone(), set);
                    true
                }
            },
        }
    }

    /// Removes `sub` from `subject` (in queue group `queue` if given) and prunes nodes left
    /// empty. Returns `false` when no such subscription exists.
    pub(crate) fn remove(&mut self, subject: &[u8], queue: Option<&[u8]>, sub: &Arc<T>) -> bool {
        // (parent, slot, child) for every token, to prune bottom-up afterwards.
        let mut path: Vec<(NodeId, Slot<'_>, NodeId)> = Vec::new();
        let mut cur = ROOT;
        for token in tokens(subject) {
            let slot = Slot::of(token);
            let Some(next) = self.node(cur).and_then(|n| n.child(slot)) else {
                return false;
            };
            path.push((cur, slot, next));
            cur = next;
        }
        let Some(node) = self.node_mut(cur) else {
            return false;
        };
        let removed = match queue {
            None => node.psubs.remove(sub),
            Some(q) => match node.qsubs.get_mut(q) {
                Some(set) => {
                    let removed = set.remove(sub);
                    if set.is_empty() {
                        node.qsubs.remove(q);
                    }
                    removed
                }
                None => false,
            },
        };
        if !removed {
            return false;
        }
        for &(parent, slot, child) in path.iter().rev() {
            if !self.node(child).is_some_and(Node::is_empty) {
                break;
            }
            if let Some(p) = self.node_mut(parent) {
                p.unlink_child(slot);
            }
            self.release(child);
        }
        self.maybe_compact();
        true
    }

    /// Adds every subscription matching the publish subject `toks` to `out`. In `toks`,
    /// `*` and `>` are literal tokens; they are looked up among literal children, which
    /// never hold wildcard tokens, so only wildcard subscriptions match them.
    pub(crate) fn match_tokens(&self, toks: &[&[u8]], out: &mut ResultBuilder<T>) {
        // Pending branches through `*` children: (node, number of tokens consumed).
        let mut pending: Vec<(NodeId, usize)> = Vec::new();
        let mut next = Some((ROOT, 0));
        while let Some((mut id, mut depth)) = next.take().or_else(|| pending.pop()) {
            // Follow the literal path from here, queuing `*` branches on the way.
            while let Some(node) = self.node(id) {
                let Some(token) = toks.get(depth) else {
                    node.add_to(out);
                    break;
                };
                if let Some(fwc) = node.fwc.and_then(|f| self.node(f)) {
                    fwc.add_to(out);
                }
                if let Some(pwc) = node.pwc {
                    pending.push((pwc, depth + 1));
                }
                match node.literal.get(*token) {
                    Some(&child) => {
                        id = child;
                        depth += 1;
                    }
                    None => break,
                }
            }
        }
    }

    /// Every subscription with its subject and queue name.
    pub(crate) fn collect_all(&self) -> Vec<(Bytes, Option<Bytes>, Arc<T>)> {
        let mut out = Vec::new();
        // Depth-first with one subject buffer: (node, length of its parent's subject, token).
        let mut subject: Vec<u8> = Vec::new();
        let mut stack: Vec<(NodeId, usize, &[u8])> = Vec::new();
        if let Some(root) = self.node(ROOT) {
            push_children(&mut stack, root, 0);
        }
        while let Some((id, parent_len, token)) = stack.pop() {
            let Some(node) = self.node(id) else {
                continue;
            };
            subject.truncate(parent_len);
            if parent_len > 0 {
                subject.push(TSEP);
            }
            subject.extend_from_slice(token);
            push_children(&mut stack, node, subject.len());
            if node.psubs.is_empty() && node.qsubs.is_empty() {
                continue;
            }
            let subject = Bytes::copy_from_slice(&subject);
            for sub in node.psubs.as_slice() {
                out.push((subject.clone(), None, sub.clone()));
            }
            for (name, members) in &node.qsubs {
                for sub in members.as_slice() {
                    out.push((subject.clone(), Some(name.clone()), sub.clone()));
                }
            }
        }
        out
    }

    /// Renumbers live nodes densely when most of the arena is free.
    fn maybe_compact(&mut self) {
        let slots = self.nodes.len();
        let free = self.free.len();
        if free < COMPACT_MIN_FREE || free * 4 <= slots * COMPACT_FREE_QUARTERS {
            return;
        }
        let mut map = vec![NodeId::MAX; slots];
        let mut nodes = Vec::with_capacity(slots - free);
        for (old, slot) in self.nodes.drain(..).enumerate() {
            if let Some(node) = slot {
                if let Some(m) = map.get_mut(old) {
                    *m = nodes.len();
                }
                nodes.push(Some(node));
            }
        }
        for node in nodes.iter_mut().flatten() {
            node.remap(&map);
        }
        self.nodes = nodes;
        self.free = Vec::new();
    }

    /// Number of arena slots, free ones included (tests only).
    #[cfg(test)]
    pub(crate) fn arena_len(&self) -> usize {
        self.nodes.len()
    }

    /// Checks structural invariants (tests only): every live node except the root is
    /// reachable exactly once, no reachable non-root node is empty, no queue set is empty.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack = vec![ROOT];
        while let Some(id) = stack.pop() {
            let node = self.node(id).expect("reachable node is live");
            assert!(
                !std::mem::replace(&mut seen[id], true),
                "node {id} reached twice"
            );
            assert!(id == ROOT || !node.is_empty(), "empty node {id} not pruned");
            assert!(
                node.qsubs.values().all(|s| !s.is_empty()),
                "empty queue set"
            );
            stack.extend(node.children());
        }
        let live = self.nodes.iter().filter(|n| n.is_some()).count();
        assert_eq!(
            live,
            seen.iter().filter(|s| **s).count(),
            "unreachable live nodes"
        );
        assert_eq!(live, self.node_count());
    }
}
