//! `#[derive(Trace)]` for [recycle](https://docs.rs/recycle).
//!
//! The generated `trace` calls `trace` on every field (of every variant, for
//! enums) except those marked `#[trace(skip)]`, and `MAY_CONTAIN_GC` is the
//! `||` of the fields' values. A type parameter gets a `Trace` bound when a
//! traced field uses it outside a handle type (`Gc<T>`, `Weak<T>`, ... need
//! none, so `T` may be `?Sized`); `#[trace(bound = "...")]` on the type
//! replaces the inferred bounds with its own.
//!
//! `TRUSTED` (may the collector run this `trace` while it counts, and
//! subtract what it reports?) is `Some` when every traced field's type is
//! trusted, as the std impls and other derived types are; see
//! `recycle::Trace`. The compiler checks each field; a field whose type names
//! the type being derived (`Vec<Self>`) is checked with a stand-in for it, a
//! type defined inside the generated constant that no other code can name.
//!
//! `FIXED_EDGES` (does a value keep the same handles all its life?) is the
//! `&&` of the traced fields' values. A field that names the type being
//! derived asks the compiler only when every mention is inside a `Gc<..>` or
//! `Weak<..>` (`Option<Gc<Self>>`); otherwise (`Box<Self>`) it counts as
//! changing, which only keeps the objects tracked.
//!
//! `#[trace(finalize)]` on the type declares a finalizer: the derived impl
//! sets `HAS_FINALIZER` and calls the type's `recycle::Finalize` impl, and
//! implements the marker that `Finalize` requires (so an `impl Finalize`
//! without the attribute, which would never run, does not compile).
//!
//! A field whose type names the type being derived (`Option<Box<Self>>`,
//! `Vec<Tree>`) counts as "may contain a `Gc`" without asking the compiler,
//! which would otherwise loop evaluating the constant. For types that are
//! recursive through *another* type, `#[trace(tracked)]` on the container
//! sets `MAY_CONTAIN_GC = true` outright.

#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2, TokenTree};
use quote::{format_ident, quote};
use syn::{
    Attribute, Data, DeriveInput, Fields, GenericParam, Ident, Type, parse_macro_input,
    parse_quote, spanned::Spanned,
};

/// Derives `recycle::Trace`. See the crate docs.
#[proc_macro_derive(Trace, attributes(trace))]
pub fn derive_trace(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(input) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// What a `#[trace(...)]` attribute says.
#[derive(Default)]
struct TraceAttr {
    skip: bool,
    tracked: bool,
    finalize: bool,
    /// `#[trace(bound = "...")]`: the impl's where-predicates, replacing
    /// the ones the derive would infer.
    bound: Option<Vec<syn::WherePredicate>>,
}

fn parse_attrs(attrs: &[Attribute], on_field: bool) -> syn::Result<TraceAttr> {
    let mut out = TraceAttr::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("trace")) {
        attr.parse_nested_meta(|meta| {
            if on_field && meta.path.is_ident("skip") {
                out.skip = true;
                Ok(())
            } else if !on_field && meta.path.is_ident("tracked") {
                out.tracked = true;
                Ok(())
            } else if !on_field && meta.path.is_ident("finalize") {
                out.finalize = true;
                Ok(())
            } else if !on_field && meta.path.is_ident("bound") {
                let text: syn::LitStr = meta.value()?.parse()?;
                let predicates = text.parse_with(
                    syn::punctuated::Punctuated::<syn::WherePredicate, syn::Token![,]>::parse_terminated,
                )?;
                out.bound = Some(predicates.into_iter().collect());
                Ok(())
            } else if on_field {
                Err(meta.error("expected `#[trace(skip)]` on a field"))
            } else {
                Err(meta.error(
                    "expected `#[trace(tracked)]`, `#[trace(finalize)]` or \
                     `#[trace(bound = \"T: Trace, ...\")]` on a type",
                ))
            }
        })?;
    }
    Ok(out)
}

fn expand(mut input: DeriveInput) -> syn::Result<TokenStream2> {
    let mut container = parse_attrs(&input.attrs, false)?;
    let name = input.ident.clone();
    let me = SelfType::of(&input);

    add_bounds(&mut input, container.bound.take())?;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();

    let mut may_contain = Vec::new();
    let mut trusted = Vec::new();
    let mut fixed = Vec::new();
    let body = match &input.data {
        Data::Struct(data) => {
            let (pattern, calls) = destructure(
                &data.fields,
                &me,
                &mut may_contain,
                &mut trusted,
                &mut fixed,
            )?;
            quote! {
                let #name #pattern = self;
                #(#calls)*
            }
        }
        Data::Enum(data) => {
            let mut arms = Vec::new();
            for variant in &data.variants {
                let ident = &variant.ident;
                let (pattern, calls) = destructure(
                    &variant.fields,
                    &me,
                    &mut may_contain,
                    &mut trusted,
                    &mut fixed,
                )?;
                arms.push(quote! { #name::#ident #pattern => { #(#calls)* } });
            }
            if arms.is_empty() {
                quote! { match *self {} }
            } else {
                quote! { match self { #(#arms)* } }
            }
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span(),
                "Trace cannot be derived for unions: the collector cannot know which field is live",
            ));
        }
    };

    let may_contain_gc = if container.tracked {
        quote! { true }
    } else {
        quote! { false #(|| #may_contain)* }
    };
    // Trusted when every traced field's type is: the generated `trace`
    // reports each field once. A field whose type is built around the type
    // itself (`Vec<Self>`) is asked about with a stand-in for it, a type
    // made here that nothing else can name or implement traits for:
    // "trusted if every field is, assuming the type itself is", which holds
    // by induction on the (finite) values. `#[trace(tracked)]` types
    // (recursive through other types) cannot ask the compiler, and stay
    // untrusted.
    let trusted = if container.tracked {
        quote! { ::core::option::Option::None }
    } else {
        let stand_in_item = if trusted.iter().any(|t| t.uses_stand_in) {
            quote! {
                #[allow(non_camel_case_types, dead_code)]
                struct __RecycleDeriveSelf;
                impl ::recycle::Trace for __RecycleDeriveSelf {
                    // SAFETY: `trace` reports nothing.
                    const TRUSTED: ::core::option::Option<::recycle::Trust<Self>> =
                        ::core::option::Option::Some(unsafe { ::recycle::Trust::new_unchecked() });
                    fn trace(&self, _: &mut ::recycle::Tracer) {}
                }
            }
        } else {
            quote! {}
        };
        let checks = trusted.iter().map(|t| &t.check);
        quote! {{
            #stand_in_item
            if true #(&& #checks)* {
                // SAFETY: the derived `trace` calls `trace` on each traced
                // field exactly once, only on fields of this value, and
                // does nothing else; every field's own `trace` is trusted.
                ::core::option::Option::Some(unsafe { ::recycle::Trust::new_unchecked() })
            } else {
                ::core::option::Option::None
            }
        }}
    };

    // Fixed edges when every traced field's are (see `recycle::Trace`).
    let fixed_edges = if container.tracked {
        quote! { false }
    } else {
        quote! { true #(&& #fixed)* }
    };

    let finalizer = if container.finalize {
        quote! {
            const HAS_FINALIZER: bool = true;

            fn finalize(&self) {
                <Self as ::recycle::Finalize>::finalize(self)
            }
        }
    } else {
        quote! {}
    };
    // `Finalize` requires this marker, so an `impl Finalize` on a type whose
    // derive does not say `finalize` (and would never run it) is an error.
    let finalizer_marker = if container.finalize {
        quote! {
            #[automatically_derived]
            impl #impl_generics ::recycle::__private::FinalizerDeclared for #name #ty_generics
                #where_clause {}
        }
    } else {
        quote! {}
    };

    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::recycle::Trace for #name #ty_generics #where_clause {
            const MAY_CONTAIN_GC: bool = #may_contain_gc;
            const TRUSTED: ::core::option::Option<::recycle::Trust<Self>> = #trusted;
            const FIXED_EDGES: bool = #fixed_edges;
            #finalizer

            #[inline]
            #[allow(unused_variables)]
            fn trace(&self, tracer: &mut ::recycle::Tracer) {
                #body
            }
        }
        #finalizer_marker
    })
}

/// Adds the impl's bounds: those of `#[trace(bound = "...")]` if given;
/// otherwise `P: Trace` for each type parameter `P` that a traced field
/// names outside a handle (`Gc<P>`, `Weak<P>`, `PhantomData<P>`, ... trace
/// the same for every `P`, so `struct Handle<T: ?Sized> { inner: Gc<T> }`
/// can hold a `dyn Trait`).
fn add_bounds(
    input: &mut DeriveInput,
    explicit: Option<Vec<syn::WherePredicate>>,
) -> syn::Result<()> {
    if let Some(predicates) = explicit {
        input
            .generics
            .make_where_clause()
            .predicates
            .extend(predicates);
        return Ok(());
    }
    let mut traced = Vec::new();
    let fields: Vec<&syn::Field> = match &input.data {
        Data::Struct(data) => data.fields.iter().collect(),
        Data::Enum(data) => data.variants.iter().flat_map(|v| v.fields.iter()).collect(),
        Data::Union(_) => Vec::new(),
    };
    for field in fields {
        if !parse_attrs(&field.attrs, true)?.skip {
            traced.push(field.ty.clone());
        }
    }
    for param in &mut input.generics.params {
        if let GenericParam::Type(ty) = param {
            let ident = &ty.ident;
            if traced
                .iter()
                .any(|field| !only_behind_handles(field, ident))
            {
                ty.bounds.push(parse_quote!(::recycle::Trace));
            }
        }
    }
    Ok(())
}

/// A pattern binding every field, and a `trace` call per field not skipped.
/// Pushes each traced field's `MAY_CONTAIN_GC`, `TRUSTED` and `FIXED_EDGES`
/// terms.
fn destructure(
    fields: &Fields,
    me: &SelfType,
    may_contain: &mut Vec<TokenStream2>,
    trusted: &mut Vec<TrustCheck>,
    fixed: &mut Vec<TokenStream2>,
) -> syn::Result<(TokenStream2, Vec<TokenStream2>)> {
    let mut bindings = Vec::new();
    let mut calls = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        let attr = parse_attrs(&field.attrs, true)?;
        let binding = format_ident!("__field{}", index, span = Span::call_site());
        let member = match &field.ident {
            Some(ident) => quote! { #ident: #binding },
            None => quote! { #binding },
        };
        if attr.skip {
            bindings.push(match &field.ident {
                Some(ident) => quote! { #ident: _ },
                None => quote! { _ },
            });
            continue;
        }
        bindings.push(member);
        calls.push(quote! { ::recycle::Trace::trace(#binding, tracer); });
        let ty = &field.ty;
        let self_name = &me.name;
        trusted.push(me.trust_check(ty));
        if mentions(ty, self_name) {
            // The type itself again: adds nothing the other fields do not
            // decide (and the compiler cannot evaluate it).
            may_contain.push(quote! { true });
            // Behind a handle (`Option<Gc<Self>>`), the compiler can answer
            // without looking into the type; otherwise (`Box<Self>`) assume
            // the handles may change, which only keeps objects tracked.
            if only_behind_handles(ty, self_name) {
                fixed.push(quote! { <#ty as ::recycle::Trace>::FIXED_EDGES });
            } else {
                fixed.push(quote! { false });
            }
        } else {
            may_contain.push(quote! { <#ty as ::recycle::Trace>::MAY_CONTAIN_GC });
            fixed.push(quote! { <#ty as ::recycle::Trace>::FIXED_EDGES });
        }
    }
    let pattern = match fields {
        Fields::Named(_) => quote! { { #(#bindings),* } },
        Fields::Unnamed(_) => quote! { ( #(#bindings),* ) },
        Fields::Unit => quote! {},
    };
    Ok((pattern, calls))
}

/// Types whose `Trace` impl is the same for every type argument: they
/// report at most themselves, never what they point to.
const HANDLE_TYPES: [&str; 6] = ["Gc", "Weak", "WeakRef", "PhantomData", "Rc", "Arc"];

/// Is every mention of `self_name` (the type being derived, or a type
/// parameter) inside one of the [`HANDLE_TYPES`] (`Option<Gc<Self>>`)?
fn only_behind_handles(ty: &Type, self_name: &Ident) -> bool {
    match ty {
        Type::Path(path) => {
            if path.qself.is_some() {
                return !mentions(ty, self_name);
            }
            let Some(last) = path.path.segments.last() else {
                return true;
            };
            if HANDLE_TYPES.iter().any(|handle| last.ident == handle) {
                return true;
            }
            if path.path.segments.len() == 1 && (last.ident == *self_name || last.ident == "Self") {
                return false;
            }
            path.path
                .segments
                .iter()
                .all(|segment| match &segment.arguments {
                    syn::PathArguments::AngleBracketed(args) => {
                        args.args.iter().all(|arg| match arg {
                            syn::GenericArgument::Type(inner) => {
                                only_behind_handles(inner, self_name)
                            }
                            _ => true,
                        })
                    }
                    syn::PathArguments::None => true,
                    syn::PathArguments::Parenthesized(_) => !mentions(ty, self_name),
                })
        }
        Type::Tuple(tuple) => tuple
            .elems
            .iter()
            .all(|t| only_behind_handles(t, self_name)),
        Type::Array(array) => only_behind_handles(&array.elem, self_name),
        Type::Slice(slice) => only_behind_handles(&slice.elem, self_name),
        Type::Paren(paren) => only_behind_handles(&paren.elem, self_name),
        Type::Group(group) => only_behind_handles(&group.elem, self_name),
        _ => !mentions(ty, self_name),
    }
}

/// Does the field type name the type being derived (or `Self`)?
fn mentions(ty: &Type, self_name: &Ident) -> bool {
    fn walk(tokens: TokenStream2, self_name: &Ident) -> bool {
        tokens.into_iter().any(|tt| match tt {
            TokenTree::Ident(ident) => ident == *self_name || ident == "Self",
            TokenTree::Group(group) => walk(group.stream(), self_name),
            _ => false,
        })
    }
    walk(quote! { #ty }, self_name)
}

/// One traced field's part of `TRUSTED`.
struct TrustCheck {
    /// `<FieldType as Trace>::TRUSTED.is_some()`, with the stand-in for
    /// the type being derived where the field type names it.
    check: TokenStream2,
    uses_stand_in: bool,
}

/// The type being derived, as a field type may name it.
struct SelfType {
    name: Ident,
    /// Its generic arguments as written in a field that names it
    /// (`Node<T, N>`), as token strings, in order.
    params: Vec<String>,
    /// A generic parameter has the type's own name: a bare `Name` in a
    /// field is then that parameter, and only `Self` is the type.
    name_shadowed: bool,
}

impl SelfType {
    fn of(input: &DeriveInput) -> SelfType {
        let params = input
            .generics
            .params
            .iter()
            .map(|param| match param {
                GenericParam::Type(t) => t.ident.to_string(),
                GenericParam::Lifetime(l) => l.lifetime.to_string(),
                GenericParam::Const(c) => c.ident.to_string(),
            })
            .collect();
        let name_shadowed = input.generics.params.iter().any(|param| match param {
            GenericParam::Type(t) => t.ident == input.ident,
            GenericParam::Const(c) => c.ident == input.ident,
            GenericParam::Lifetime(_) => false,
        });
        SelfType {
            name: input.ident.clone(),
            params,
            name_shadowed,
        }
    }

    /// The trust check of a field of type `ty`.
    fn trust_check(&self, ty: &Type) -> TrustCheck {
        if !mentions(ty, &self.name) {
            return TrustCheck {
                check: quote! { <#ty as ::recycle::Trace>::TRUSTED.is_some() },
                uses_stand_in: false,
            };
        }
        let mut substituted = ty.clone();
        self.substitute(&mut substituted);
        if mentions(&substituted, &self.name) {
            // Named somewhere the stand-in cannot go (a macro, a qualified
            // path, another instance of a generic type): the compiler
            // decides, which for the type itself is a cycle error, never
            // a trust the fields do not earn.
            return TrustCheck {
                check: quote! { <#ty as ::recycle::Trace>::TRUSTED.is_some() },
                uses_stand_in: false,
            };
        }
        TrustCheck {
            check: quote! { <#substituted as ::recycle::Trace>::TRUSTED.is_some() },
            uses_stand_in: true,
        }
    }

    /// Replaces every mention of exactly this type (`Self`, or its name
    /// with its own generic parameters) that sits in a plain type position
    /// with the stand-in.
    fn substitute(&self, ty: &mut Type) {
        match ty {
            Type::Path(path) if path.qself.is_none() => {
                if self.is_this_type(&path.path) {
                    *ty = parse_quote!(__RecycleDeriveSelf);
                    return;
                }
                for segment in &mut path.path.segments {
                    if let syn::PathArguments::AngleBracketed(args) = &mut segment.arguments {
                        for arg in &mut args.args {
                            if let syn::GenericArgument::Type(inner) = arg {
                                self.substitute(inner);
                            }
                        }
                    }
                }
            }
            Type::Tuple(tuple) => tuple.elems.iter_mut().for_each(|t| self.substitute(t)),
            Type::Array(array) => self.substitute(&mut array.elem),
            Type::Slice(slice) => self.substitute(&mut slice.elem),
            Type::Reference(reference) => self.substitute(&mut reference.elem),
            Type::Ptr(pointer) => self.substitute(&mut pointer.elem),
            Type::Paren(paren) => self.substitute(&mut paren.elem),
            Type::Group(group) => self.substitute(&mut group.elem),
            _ => {}
        }
    }

    /// Is `path` `Self`, or this type's bare name with exactly its own
    /// generic parameters?
    fn is_this_type(&self, path: &syn::Path) -> bool {
        if path.leading_colon.is_some() || path.segments.len() != 1 {
            return false;
        }
        let segment = &path.segments[0];
        if segment.ident == "Self" {
            return matches!(segment.arguments, syn::PathArguments::None);
        }
        if segment.ident != self.name || self.name_shadowed {
            return false;
        }
        match &segment.arguments {
            syn::PathArguments::None => self.params.is_empty(),
            syn::PathArguments::AngleBracketed(args) => {
                let written: Vec<String> = args
                    .args
                    .iter()
                    .map(|arg| match arg {
                        syn::GenericArgument::Lifetime(l) => l.to_string(),
                        other => quote!(#other).to_string(),
                    })
                    .collect();
                written == self.params
            }
            syn::PathArguments::Parenthesized(_) => false,
        }
    }
}
