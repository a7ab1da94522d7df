/// Decoding half of `SentencePieceTokenizer`.
extension SentencePieceTokenizer {
    /// Concatenates pieces with `▁` turned into spaces and byte pieces joined as
    /// UTF-8; removes one leading space (the dummy prefix) from the first piece
    /// that is not a control token. Control tokens are empty when skipped and their
    /// piece text otherwise; `<unk>` shows as the model's unknown surface (` ⁇ `).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(ids.count * 4)
        var isStartOfText = model.addDummyPrefix || model.removeExtraWhitespaces
        for id in ids {
            if let extra = extraTokens[id] {
                if !(skipSpecialTokens && extra.isSpecial) { output.append(contentsOf: extra.content.utf8) }
                continue
            }
            guard id >= 0 && id < model.pieces.count else { continue }
            if isSpecial(id) {
                if !skipSpecialTokens { output.append(contentsOf: model.pieces[id].text.utf8) }
                continue
            }
            if byteValues[id] >= 0 {
                output.append(UInt8(byteValues[id]))
                isStartOfText = false
                continue
            }
            if model.pieces[id].type == .unknown {
                output.append(contentsOf: model.unkSurface.utf8)
                isStartOfText = false
                continue
            }
            appendPiece(
                model.pieces[id].text, stripLeadingSpace: isStartOfText && !model.treatWhitespaceAsSuffix, to: &output)
            isStartOfText = false
        }
        return String(decoding: output, as: UTF8.self)
    }

    private func appendPiece(_ text: String, stripLeadingSpace: Bool, to output: inout [UInt8]) {
        let utf8 = Array(text.utf8)
        var index = 0
        if stripLeadingSpace && utf8.starts(with: [0xE2, 0x96, 0x81]) { index = 3 }
        if !utf8.contains(0xE2) {
            output.append(contentsOf: utf8[index...])
            return
        }
        while index < utf8.count {
            if index + 2 < utf8.count && utf8[index] == 0xE2 && utf8[index + 1] == 0x96 && utf8[index + 2] == 0x81 {
                output.append(0x20)
                index += 3
            } else {
                output.append(utf8[index])
                index += 1
            }
        }
    }
}
