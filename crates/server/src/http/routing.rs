//! What every API's route parser answers when no route matches.

/// Why no route matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// No API has this path on this host.
    NotFound,
    /// The path exists but not for this method; lists the allowed ones.
    MethodNotAllowed(&'static str),
}

/// Declares a fieldless "kind" enum with one variant per route of an API, and `ALL`, the list
/// of them: each route enum maps itself onto its kinds with an exhaustive `match`, so a new
/// route cannot compile without a kind, and the authorization tests walk `ALL`, so a kind
/// cannot exist without a test row.
#[macro_export]
macro_rules! route_kinds {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* #[doc = concat!("The `", stringify!($variant), "` route.")] $variant),*
        }
        impl $name {
            /// Every kind, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            /// The kind's name (as in audit entries).
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => stringify!($variant)),*
                }
            }
        }
    };
}
