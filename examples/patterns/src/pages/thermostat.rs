//! `/thermostat`: jfyne/live's thermostat, 19.5 °C and ±0.1 per click.

use livetemplate::AppBuilder;
use livetemplate::prelude::*;

/// Thermostat state.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(template = "thermostat.html")]
pub struct ThermostatState {
    /// Page title.
    pub title: String,
    /// Nav category.
    pub category: String,
    /// Temperature in °C, kept at one decimal.
    pub celsius: f64,
}

/// Thermostat actions.
#[derive(Debug)]
pub struct ThermostatController;

fn step(c: f64, by: f64) -> f64 {
    // Work in tenths so repeated steps never drift (19.5 + 0.1 + 0.1 is 19.7, not 19.700000000000003).
    ((c * 10.0).round() + by * 10.0) / 10.0
}

#[actions]
impl ThermostatController {
    async fn temp_up(&self, state: &mut ThermostatState, _ctx: &mut Context) -> Result<()> {
        state.celsius = step(state.celsius, 0.1);
        Ok(())
    }

    async fn temp_down(&self, state: &mut ThermostatState, _ctx: &mut Context) -> Result<()> {
        state.celsius = step(state.celsius, -0.1);
        Ok(())
    }
}

/// Add `/thermostat`.
pub fn register(b: AppBuilder) -> AppBuilder {
    b.page(
        "/thermostat",
        ThermostatController,
        ThermostatState {
            title: "Thermostat".into(),
            category: "Basics".into(),
            celsius: 19.5,
        },
    )
}
