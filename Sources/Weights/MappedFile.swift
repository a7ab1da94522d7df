import Foundation
import Tensors

#if canImport(Glibc)
    import Glibc
#endif

/// A file memory-mapped read-only; checkpoint tensors are views into it, so
/// loading a model costs address space, not heap (pages fault in on first use).
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let base: UnsafeRawPointer
    public let byteCount: Int

    public init(path: String) throws(WeightsError) {
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw .cannotOpen(file: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw .cannotOpen(file: path, reason: String(cString: strerror(errno)))
        }
        let size = Int(info.st_size)
        self.path = path
        self.byteCount = size
        if size == 0 {  // mmap refuses zero bytes; a 1-byte heap block stands in
            self.base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 8))
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw .cannotOpen(file: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        self.base = UnsafeRawPointer(address)
    }

    deinit {
        if byteCount > 0 {
            munmap(UnsafeMutableRawPointer(mutating: base), byteCount)
        } else {
            base.deallocate()
        }
    }
}

extension MappedFile: ReleasablePages {
    /// Drops this process's copies of the whole pages in [start, start + byteCount)
    /// (`MADV_DONTNEED`; the mapping is private and read-only, so a later access
    /// faults the file's bytes back in).
    public func releasePages(_ start: UnsafeRawPointer, byteCount count: Int) {
        guard byteCount > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + count) / page * page
        guard end > first, let pointer = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(pointer, end - first, MADV_DONTNEED)
    }
}
