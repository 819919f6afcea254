//! A check of the names a template reads, before any code is generated: a bare name that is
//! neither a field of the state struct nor bound anywhere in the template (`for`, `let`,
//! `match` arms, `if let`, macro arguments, caller arguments) is a misspelling, and so is a
//! `self.name` whose `name` is no field of the state. Reporting it
//! here names the user's template file and line; left to the compiler it reads
//! ``no field `itemz` on type `&TodosTemplate<'a>` ``, pointing at the whole attribute.
//!
//! The check is conservative: a name bound anywhere in any of the template's files counts as
//! bound everywhere (an included file reads its includer's loop variable), and names the
//! compiler resolves otherwise (`self`, `loop`, `caller`, paths, capitalised constants,
//! method calls) are left to it.

use std::collections::HashSet;

use askama_parser::expr::Call as ExprCall;
use askama_parser::node::Call;
use askama_parser::{Expr, LetValueOrBlock, Node, Target, WithSpan};

/// A name the template reads that nothing defines: the name and its byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unknown {
    pub(crate) name: String,
    pub(crate) offset: usize,
}

/// Add the names `nodes` bind to `bound`.
pub(crate) fn collect_bound(nodes: &[Box<Node<'_>>], bound: &mut HashSet<String>) {
    for n in nodes {
        match &**n {
            Node::Let(l) => {
                bind(&l.var, bound);
                if let LetValueOrBlock::Block { nodes, .. } = &l.val {
                    collect_bound(nodes, bound);
                }
            }
            Node::Declare(d) => {
                bound.insert((*d.var_name).to_string());
            }
            Node::If(i) => {
                for b in &i.branches {
                    if let Some(c) = &b.cond {
                        if let Some(t) = &c.target {
                            bind(t, bound);
                        }
                        bind_expr(&c.expr, bound);
                    }
                    collect_bound(&b.nodes, bound);
                }
            }
            Node::Match(m) => {
                for arm in &m.arms {
                    for t in &arm.target {
                        bind(t, bound);
                    }
                    collect_bound(&arm.nodes, bound);
                }
            }
            Node::Loop(l) => {
                bind(&l.var, bound);
                collect_bound(&l.body, bound);
                collect_bound(&l.else_nodes, bound);
            }
            Node::BlockDef(b) => collect_bound(&b.nodes, bound),
            Node::Macro(m) => {
                for a in &m.args {
                    bound.insert((*a.name).to_string());
                }
                collect_bound(&m.nodes, bound);
            }
            Node::Call(c) => {
                let c: &Call<'_> = c;
                for a in &c.caller_args {
                    bound.insert((*a).to_string());
                }
                collect_bound(&c.nodes, bound);
            }
            Node::FilterBlock(f) => collect_bound(&f.nodes, bound),
            _ => {}
        }
    }
}

/// `if let` chains inside expressions (`a && let Some(b) = c`) bind too.
fn bind_expr(e: &WithSpan<Box<Expr<'_>>>, bound: &mut HashSet<String>) {
    match &***e {
        Expr::LetCond(c) => {
            if let Some(t) = &c.target {
                bind(t, bound);
            }
            bind_expr(&c.expr, bound);
        }
        Expr::BinOp(b) => {
            bind_expr(&b.lhs, bound);
            bind_expr(&b.rhs, bound);
        }
        _ => {}
    }
}

fn bind(t: &Target<'_>, bound: &mut HashSet<String>) {
    match t {
        Target::Name(n) => {
            bound.insert((**n).to_string());
        }
        Target::Tuple(v) => v.1.iter().for_each(|t| bind(t, bound)),
        Target::Array(v) | Target::OrChain(v) => v.iter().for_each(|t| bind(t, bound)),
        Target::Struct(v) => v.1.iter().for_each(|nt| bind(&nt.dest, bound)),
        Target::Rest(r) => {
            if let Some(n) = &**r {
                bound.insert((**n).to_string());
            }
        }
        _ => {}
    }
}

/// Every bare name read by `nodes` that is neither in `fields` nor in `bound`.
pub(crate) fn unknown_names(
    nodes: &[Box<Node<'_>>],
    fields: &HashSet<String>,
    bound: &HashSet<String>,
    out: &mut Vec<Unknown>,
) {
    let mut w = Walker { fields, bound, out };
    w.nodes(nodes);
}

struct Walker<'c> {
    fields: &'c HashSet<String>,
    bound: &'c HashSet<String>,
    out: &'c mut Vec<Unknown>,
}

impl Walker<'_> {
    fn nodes(&mut self, nodes: &[Box<Node<'_>>]) {
        for n in nodes {
            match &**n {
                Node::Expr(_, e) => self.expr(e),
                Node::Call(c) => {
                    for a in c.args.iter().flatten() {
                        self.expr(a);
                    }
                    self.nodes(&c.nodes);
                }
                Node::Let(l) => match &l.val {
                    LetValueOrBlock::Value(e) => self.expr(e),
                    LetValueOrBlock::Block { nodes, .. } => self.nodes(nodes),
                },
                Node::Compound(c) => {
                    self.expr(&c.op.lhs);
                    self.expr(&c.op.rhs);
                }
                Node::If(i) => {
                    for b in &i.branches {
                        if let Some(c) = &b.cond {
                            self.expr(&c.expr);
                        }
                        self.nodes(&b.nodes);
                    }
                }
                Node::Match(m) => {
                    self.expr(&m.expr);
                    for arm in &m.arms {
                        self.nodes(&arm.nodes);
                    }
                }
                Node::Loop(l) => {
                    self.expr(&l.iter);
                    if let Some(c) = &l.cond {
                        self.expr(c);
                    }
                    self.nodes(&l.body);
                    self.nodes(&l.else_nodes);
                }
                Node::BlockDef(b) => self.nodes(&b.nodes),
                Node::Macro(m) => {
                    for a in &m.args {
                        if let Some(d) = &a.default {
                            self.expr(d);
                        }
                    }
                    self.nodes(&m.nodes);
                }
                Node::FilterBlock(f) => {
                    for a in &f.filters.arguments {
                        self.expr(a);
                    }
                    self.nodes(&f.nodes);
                }
                _ => {}
            }
        }
    }

    fn expr(&mut self, e: &WithSpan<Box<Expr<'_>>>) {
        match &***e {
            Expr::Var(name) => self.var(name, e),
            Expr::Array(v) | Expr::Tuple(v) | Expr::Concat(v) => v.iter().for_each(|x| self.expr(x)),
            Expr::ArrayRepeat(a, b) | Expr::Index(a, b) => {
                self.expr(a);
                self.expr(b);
            }
            Expr::AssociatedItem(a, item) => {
                // `self.name` reads a field of the state: it must be one.
                if matches!(&***a, Expr::Var("self")) {
                    let name: &str = &item.name;
                    if !self.fields.contains(name) && !name.starts_with("__lvt") {
                        self.out.push(Unknown {
                            name: format!("self.{name}"),
                            offset: a.span().byte_range().map_or(0, |r| r.start),
                        });
                    }
                } else {
                    self.expr(a);
                }
            }
            Expr::As(a, _) | Expr::NamedArgument(_, a) | Expr::Unary(_, a) | Expr::Group(a) | Expr::Try(a) => {
                self.expr(a)
            }
            Expr::Filter(f) => f.arguments.iter().for_each(|x| self.expr(x)),
            Expr::BinOp(b) => {
                self.expr(&b.lhs);
                self.expr(&b.rhs);
            }
            Expr::Range(r) => {
                if let Some(l) = &r.lhs {
                    self.expr(l);
                }
                if let Some(r) = &r.rhs {
                    self.expr(r);
                }
            }
            Expr::Call(c) => {
                let c: &ExprCall<'_> = c;
                // `name(…)` is a method of the template (`self.name(…)`), not a field.
                // `x.method(…)` and `self.method(…)`: a method, not a field.
                match &**c.path {
                    Expr::Var(_) => {}
                    Expr::AssociatedItem(obj, _) => self.expr(obj),
                    _ => self.expr(&c.path),
                }
                c.args.iter().for_each(|x| self.expr(x));
            }
            Expr::Struct(s) => s
                .fields
                .iter()
                .filter_map(|f| f.value.as_ref())
                .for_each(|x| self.expr(x)),
            Expr::LetCond(c) => self.expr(&c.expr),
            _ => {}
        }
    }

    fn var(&mut self, name: &str, e: &WithSpan<Box<Expr<'_>>>) {
        let resolved_elsewhere = matches!(name, "self" | "loop" | "caller" | "super" | "_")
            || name.starts_with(|c: char| c.is_uppercase())
            || name.starts_with("__lvt");
        if resolved_elsewhere || self.fields.contains(name) || self.bound.contains(name) {
            return;
        }
        let offset = e.span().byte_range().map_or(0, |r| r.start);
        self.out.push(Unknown {
            name: name.to_string(),
            offset,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn unknown(src: &str, fields: &[&str]) -> Vec<String> {
        let ast = askama_parser::Ast::from_str(src, None, &askama_parser::Syntax::default()).unwrap();
        let fields: HashSet<String> = fields.iter().map(|s| s.to_string()).collect();
        let mut bound = HashSet::new();
        collect_bound(ast.nodes(), &mut bound);
        let mut out = Vec::new();
        unknown_names(ast.nodes(), &fields, &bound, &mut out);
        out.into_iter().map(|u| format!("{}@{}", u.name, u.offset)).collect()
    }

    #[test]
    fn bound_names_fields_and_compiler_names_pass() {
        let src = "{% for (i, t) in items %}{{ i }}{{ t.name }}{{ loop.index }}{% endfor %}\
                   {% let n = items.len() %}{{ n }}{% if let Some(v) = opt %}{{ v }}{% endif %}\
                   {% match opt %}{% when Some with (w) %}{{ w }}{% else %}{% endmatch %}\
                   {% macro m(a) %}{{ a }}{% endmacro %}{{ self.hidden }}{{ helper(n) }}{{ MAX }}\
                   {{ name|upper }}{{ \"x\"|fmt(name) }}";
        assert_eq!(unknown(src, &["items", "opt", "name", "hidden"]), Vec::<String>::new());
    }

    #[test]
    fn a_misspelled_field_is_found_with_its_offset() {
        assert_eq!(unknown("ab{{ itemz }}", &["items"]), ["itemz@5"]);
        assert_eq!(
            unknown(
                "{{ self.titel }}{{ self.title }}{{ self.len() }}{{ self.items.len() }}",
                &["title", "items"]
            ),
            ["self.titel@3"]
        );
        assert_eq!(
            unknown("{% for t in itemz %}{{ t + nn }}{% endfor %}", &["items"]),
            ["itemz@12", "nn@27"]
        );
    }
}
