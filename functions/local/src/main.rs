use clap::{Parser, Subcommand};

/// Herald: plan, schedule and publish posts to every network, from one process.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run Herald locally on the embedded store: API, publisher and upkeep in one process.
    Serve(herald_local::ServeArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    herald_platform::telemetry::init();
    match Cli::parse().command {
        Command::Serve(args) => herald_local::serve(args).await,
    }
}
