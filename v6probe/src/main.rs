fn main() -> std::process::ExitCode {
    v6probe::cli::run()
}
