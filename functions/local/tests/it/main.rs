//! End-to-end tests of the `herald` binary: the local server as API.md describes it, and its
//! survival of kill -9 while posts are going out.

mod support;

mod edge;
mod hosts;
mod kill9;
mod media;
mod publish_media;
mod serve;
mod video;
mod video_limits;
mod webhooks;
