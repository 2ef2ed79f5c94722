//! End-to-end tests over real sockets on 127.0.0.1, built into one binary
//! so the support code compiles once. Each area has its own module.

mod architecture;
mod browser;
mod crawl;
mod fetch;
mod fetch_connect;
mod fetch_json;
mod fetch_retry;
mod fetch_segments;
mod greet;
mod habits;
mod https;
mod listing;
mod many;
mod mirror;
mod readme;
mod resume;
mod serve;
mod serve_archive;
mod serve_auth;
mod serve_compress;
mod serve_log;
mod serve_loop;
mod serve_options;
mod serve_safety;
mod serve_tls;
mod serve_tls_peers;
mod serve_unix;
mod serve_upload;
mod strict;
mod support;
mod tls;
mod usage;
mod web;
