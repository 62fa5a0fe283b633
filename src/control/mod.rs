//! Steering a mount from outside: the control file (`server`), its protocol (`protocol`),
//! the jobs it runs (`jobs`) and what `mavfsctl` uses to reach it (`client`).
pub mod client;
pub mod jobs;
pub mod protocol;
pub mod server;
