/// The release of this build, reported by `--version`, `/version` and the banner.
enum PanguServeVersion {
    static let string = "0.1.0"
}
