//! Test-only operators, registered through the public embedding API like any user's:
//! floods, pass-throughs, nodes that panic or fail on cue, and nodes that never read.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use scanflow::ops::{BuildContext, InputPort, ParamDoc, ParamError};
use scanflow::{Context, Graph, OpError, Operator, Payload, PortType, Registry};
use serde::{Deserialize, Serialize};

/// The custom payload the test operators exchange.
pub const TOKEN: PortType = PortType::Custom("token");

fn token(i: u64) -> Payload {
    Payload::Custom("token", Arc::new(i))
}

/// Parameters shared by the test operators.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TestParams {
    /// How many messages (0 = unlimited) before the operator's event.
    pub count: u64,
    /// Milliseconds to sleep before the event.
    pub delay_ms: u64,
}

const TEST_PARAMS: &[ParamDoc] = &[
    ParamDoc {
        name: "count",
        ty: "u64",
        doc: "messages before the event",
    },
    ParamDoc {
        name: "delay_ms",
        ty: "u64",
        doc: "pause before the event",
    },
];
const TOKEN_INPUT: &[InputPort] = &[InputPort {
    field: "input",
    payload: TOKEN,
    required: true,
    doc: "tokens",
}];

macro_rules! test_operator {
    ($name:ident, $inputs:expr, $output:expr, |$self:ident, $ctx:ident| $body:block) => {
        /// A test operator.
        pub struct $name(TestParams);
        impl Operator for $name {
            type Params = TestParams;
            const NAME: &'static str = stringify!($name);
            const SUMMARY: &'static str = "test operator";
            const PARAMS: &'static [ParamDoc] = TEST_PARAMS;
            const INPUTS: &'static [InputPort] = $inputs;
            const OUTPUT: Option<PortType> = $output;
            fn build(params: TestParams, _ctx: &BuildContext) -> Result<Self, Vec<ParamError>> {
                Ok($name(params))
            }
            fn run($self, $ctx: &mut Context) -> Result<(), OpError> $body
        }
    };
}

// Sends `count` tokens (forever when 0), pausing `delay_ms` first.
test_operator!(Flood, &[], Some(TOKEN), |self, ctx| {
    ctx.sleep(Duration::from_millis(self.0.delay_ms))?;
    let mut i = 0;
    while self.0.count == 0 || i < self.0.count {
        ctx.send(token(i))?;
        i += 1;
    }
    Ok(())
});

// Sends `count` tokens, sleeps `delay_ms`, then sends `count` more.
test_operator!(Burst, &[], Some(TOKEN), |self, ctx| {
    for round in 0..2 {
        for i in 0..self.0.count {
            ctx.send(token(round * self.0.count + i))?;
        }
        if round == 0 {
            ctx.sleep(Duration::from_millis(self.0.delay_ms))?;
        }
    }
    Ok(())
});

// Forwards every token.
test_operator!(Pass, TOKEN_INPUT, Some(TOKEN), |self, ctx| {
    while let Some(p) = ctx.recv("input")? {
        ctx.send(p)?;
    }
    Ok(())
});

// Sends `count` tokens, waits `delay_ms`, then panics.
test_operator!(PanicSource, &[], Some(TOKEN), |self, ctx| {
    for i in 0..self.0.count {
        ctx.send(token(i))?;
    }
    ctx.sleep(Duration::from_millis(self.0.delay_ms))?;
    panic!("injected panic after {} tokens", self.0.count);
});

// Reads `count` tokens, waits `delay_ms`, then panics.
test_operator!(PanicSink, TOKEN_INPUT, None, |self, ctx| {
    for _ in 0..self.0.count {
        ctx.recv("input")?;
    }
    ctx.sleep(Duration::from_millis(self.0.delay_ms))?;
    panic!("injected panic after reading {} tokens", self.0.count);
});

// Reads `count` tokens, then returns an error.
test_operator!(FailSink, TOKEN_INPUT, None, |self, ctx| {
    for _ in 0..self.0.count {
        ctx.recv("input")?;
    }
    Err(OpError::Failed(format!(
        "injected failure after {} tokens",
        self.0.count
    )))
});

// Never reads its input: waits (up to a minute) for the run to be cancelled.
test_operator!(Hold, TOKEN_INPUT, None, |self, ctx| {
    ctx.sleep(Duration::from_secs(60))?;
    Err(OpError::Failed("was never cancelled".into()))
});

// Counts the tokens it receives and reports the count as its status.
test_operator!(Count, TOKEN_INPUT, None, |self, ctx| {
    let mut n = 0u64;
    while ctx.recv("input")?.is_some() {
        n += 1;
    }
    ctx.set_status(n.to_string());
    Ok(())
});

// Returns as soon as the first token arrives.
test_operator!(FirstArrival, TOKEN_INPUT, None, |self, ctx| {
    ctx.recv("input")?;
    Ok(())
});

// Ignores cancellation: busy for `delay_ms` whatever happens.
test_operator!(Deaf, TOKEN_INPUT, None, |self, ctx| {
    std::thread::sleep(Duration::from_millis(self.0.delay_ms));
    let _ = ctx;
    Ok(())
});

// Forwards `count` tokens, then panics.
test_operator!(PanicPass, TOKEN_INPUT, Some(TOKEN), |self, ctx| {
    for _ in 0..self.0.count {
        if let Some(p) = ctx.recv("input")? {
            ctx.send(p)?;
        }
    }
    panic!("injected panic after forwarding {} tokens", self.0.count);
});

// Forwards `count` tokens, then returns an error.
test_operator!(FailPass, TOKEN_INPUT, Some(TOKEN), |self, ctx| {
    for _ in 0..self.0.count {
        if let Some(p) = ctx.recv("input")? {
            ctx.send(p)?;
        }
    }
    Err(OpError::Failed(format!(
        "injected failure after forwarding {} tokens",
        self.0.count
    )))
});

// Reads every token, then sends one (a reduction such as a neighbour search).
test_operator!(Total, TOKEN_INPUT, Some(TOKEN), |self, ctx| {
    let mut n = 0;
    while ctx.recv("input")?.is_some() {
        n += 1;
    }
    ctx.send(token(n))
});

const GATE_INPUTS: &[InputPort] = &[
    InputPort {
        field: "input",
        payload: TOKEN,
        required: true,
        doc: "tokens, read once `after` has sent one",
    },
    InputPort {
        field: "after",
        payload: TOKEN,
        required: true,
        doc: "the token to wait for (a trained model, say)",
    },
];

// Waits for one token on `after`, then counts `input` (as Encode waits for its model).
test_operator!(Gate, GATE_INPUTS, None, |self, ctx| {
    ctx.recv("after")?;
    let mut n = 0u64;
    while ctx.recv("input")?.is_some() {
        n += 1;
    }
    ctx.set_status(n.to_string());
    Ok(())
});

/// The built-in operators plus the test ones.
pub fn registry() -> Registry {
    let mut registry = Registry::builtin();
    registry
        .register::<Flood>()
        .register::<Pass>()
        .register::<PanicSource>();
    registry
        .register::<PanicSink>()
        .register::<FailSink>()
        .register::<Hold>();
    registry
        .register::<Count>()
        .register::<Deaf>()
        .register::<FirstArrival>();
    registry.register::<Burst>();
    registry.register::<Total>().register::<Gate>();
    registry.register::<PanicPass>().register::<FailPass>();
    registry
}

/// Validates a graph written as RON text with the test registry.
pub fn graph(text: &str) -> Graph {
    let source = scanflow::spec::SourceText::new("<test>", text);
    match Graph::from_source(source, &registry(), &[]) {
        Ok(graph) => graph,
        Err(diagnostics) => panic!("invalid test graph:\n{diagnostics}"),
    }
}
