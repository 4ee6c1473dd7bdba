//! The names a provider or a consumer program uses, in one import; each adapter's own
//! prelude (`tether_tokio::prelude`, `tether_smol::prelude`, `tether_threadpool::prelude`)
//! adds its server and connection functions to these.
//!
//! ```
//! use tether_core::prelude::*;
//!
//! let service = Service::new("org.apache.dubbo.demo.DemoService")
//!     .method("sayHello", |_: Context, (name,): (String,)| Ok(format!("Hello {name}")));
//! let reference = Reference::builder("org.apache.dubbo.demo.DemoService").timeout(std::time::Duration::from_millis(500));
//! # let _ = (service, reference);
//! ```

pub use crate::call::Completion;
pub use crate::cluster::{Cluster, load_balance};
pub use crate::consumer::{Callback, Method, Reference, RpcError};
pub use crate::context::{CallContext, Reply};
pub use crate::message::JavaException;
pub use crate::provider::{CallbackArg, Context, Dispatch, Provider, Service};
pub use crate::{Config, Side};
