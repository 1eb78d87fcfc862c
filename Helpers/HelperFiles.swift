/// The runtime helper libraries, compiled into the binary so that every run (local, in a
/// container, on a remote host) gets the very files this build was tested with, wherever the
/// binary is installed.
public enum HelperFiles {
    /// Each file by its path under a helpers directory: `python/` goes on `PYTHONPATH`, `node/`
    /// on `NODE_PATH`, and Bash starts with `bash/autoload.sh` (`BASH_ENV`), which loads
    /// `bash/cronium.sh` when a script first calls a helper.
    public static let all: [(path: String, contents: [UInt8])] = [
        (python, PackageResources.__init___py),
        (node, PackageResources.index_js),
        (bash, PackageResources.cronium_sh),
        ("bash/autoload.sh", PackageResources.autoload_sh),
    ]

    public static let python = "python/cronium/__init__.py"
    public static let node = "node/cronium/index.js"
    public static let bash = "bash/cronium.sh"
}
