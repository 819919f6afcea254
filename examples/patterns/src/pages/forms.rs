//! `/forms`: a signup form validated as the user types (`lvt-change`), its errors next to
//! their fields (only the fields the user touched while typing, all of them on submit), the
//! typed values kept, and the same form without JavaScript (a failed POST answers 422 with
//! the values and the errors in place). A second form on the page shows its own error next to
//! itself, never next to the signup form, and keeps its typed code for the session (so after a
//! reconnect only the signup form, which the server forgot, is sent again).

use livetemplate::AppBuilder;
use livetemplate::prelude::*;
use serde::Deserialize;

/// What the signup form sends. `deny_unknown_fields`: the `_unused_*` keys an `lvt-change`
/// adds never reach it (the context takes them out).
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Signup {
    /// Required.
    #[serde(default)]
    pub name: String,
    /// Must contain `@`.
    #[serde(default)]
    pub email: String,
    /// At least 8 characters.
    #[serde(default)]
    pub password: String,
}

impl Signup {
    /// The form's errors, per field; none when it passes.
    pub fn check(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        if self.name.trim().is_empty() {
            errors.add("name", "is required");
        }
        if !self.email.contains('@') {
            errors.add("email", "must contain @");
        }
        if self.password.chars().count() < 8 {
            errors.add("password", "must be at least 8 characters");
        }
        errors.check(())
    }
}

/// The page: the signup form as typed, its errors, and the coupon form's result.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(template = "forms.html")]
pub struct FormsState {
    /// Shown in the nav bar.
    pub category: String,
    /// The signup form's values as the user typed them (not persisted: the view keeps them).
    pub form: Signup,
    /// The errors shown next to the signup form's fields.
    #[lvt(errors)]
    pub errors: FieldErrors,
    /// Who signed up last.
    pub welcome: Option<String>,
    /// The coupon code as typed, kept for the session: after a reconnect the server renders
    /// it, so the client has no reason to send the coupon form again.
    #[lvt(persist)]
    pub code: String,
    /// The coupon redeemed, if any.
    pub coupon: Option<String>,
}

/// The coupon code that works.
pub const COUPON: &str = "LIVE10";

/// The forms' actions.
#[derive(Debug)]
pub struct FormsController;

#[actions]
impl FormsController {
    /// Every keystroke (`lvt-change`): keep the values, report the errors; the framework
    /// shows only those of the fields the user touched.
    async fn validate(&self, state: &mut FormsState, ctx: &mut Context) -> Result<()> {
        state.form = ctx.bind()?;
        state.form.check()?;
        Ok(())
    }

    /// The submit: every field's error counts; on success the welcome replaces the form.
    async fn signup(&self, state: &mut FormsState, ctx: &mut Context) -> Result<()> {
        state.form = ctx.bind()?;
        state.form.check()?;
        ctx.put_flash("info", format!("Signed up as {}.", state.form.email.trim()));
        state.welcome = Some(format!("Welcome, {}!", state.form.name.trim()));
        state.form = Signup::default();
        Ok(())
    }

    /// A new, empty signup form (a new element: none of its fields used yet).
    async fn again(&self, state: &mut FormsState, _ctx: &mut Context) -> Result<()> {
        state.welcome = None;
        Ok(())
    }

    /// The coupon code as the user types it.
    async fn type_code(&self, state: &mut FormsState, ctx: &mut Context) -> Result<()> {
        state.code = ctx.get_string("code");
        Ok(())
    }

    /// The second form: its error shows next to it only.
    async fn redeem(&self, state: &mut FormsState, ctx: &mut Context) -> Result<()> {
        let code = ctx.get_string("code");
        state.code = code.clone();
        if code.trim() != COUPON {
            return Err(Error::msg(format!("unknown coupon code `{}`", code.trim())));
        }
        state.coupon = Some("10% off your first month".into());
        Ok(())
    }
}

/// Add `/forms`.
pub fn register(b: AppBuilder) -> AppBuilder {
    b.page(
        "/forms",
        FormsController,
        FormsState {
            category: "Forms".into(),
            ..Default::default()
        },
    )
}
