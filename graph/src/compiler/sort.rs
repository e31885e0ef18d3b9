//! Kahn's topological sort, ties broken by node id so the order is deterministic.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::CompileInput;

/// The nodes in an order where every node comes after all its sources; `None` on a cycle.
pub(super) fn topological_order(input: &CompileInput<'_>) -> Option<Vec<usize>> {
    let n = input.nodes.len();
    let mut indegree = vec![0u32; n];
    let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in &input.edges {
        indegree[e.to] += 1;
        outgoing[e.from].push(e.to);
    }
    let key = |i: usize| Reverse((input.nodes[i].id, input.nodes[i].retiring, input.nodes[i].slot, i));
    let mut ready: BinaryHeap<_> = (0..n).filter(|&i| indegree[i] == 0).map(key).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse((_, _, _, i))) = ready.pop() {
        order.push(i);
        for &t in &outgoing[i] {
            indegree[t] -= 1;
            if indegree[t] == 0 {
                ready.push(key(t));
            }
        }
    }
    (order.len() == n).then_some(order)
}
