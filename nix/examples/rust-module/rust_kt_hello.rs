// SPDX-License-Identifier: GPL-2.0
//! kt example: an out-of-tree kernel module written in Rust. It logs one line when it loads,
//! so `lsmod` and the console record of a kt run show it before the first test.

use kernel::prelude::*;

module! {
    type: RustKtHello,
    name: "rust_kt_hello",
    description: "kt example: an out-of-tree Rust module",
    license: "GPL",
}

struct RustKtHello;

impl kernel::Module for RustKtHello {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // pr_warn: kt boots guests with a quiet console, which shows levels 0-4 only.
        pr_warn!("rust_kt_hello: loaded\n");
        Ok(RustKtHello)
    }
}

impl Drop for RustKtHello {
    fn drop(&mut self) {
        pr_info!("rust_kt_hello: unloaded\n");
    }
}
