// A small well-formedness check for the SVG documents the eval plots write: an XML declaration, one <svg> root, every
// tag closed in order, attribute values quoted, no stray '<' or '&' in text. Not a full XML parser: enough to catch
// an unclosed element, a broken attribute or unescaped text in our own output.
#pragma once

#include <string>
#include <vector>

namespace dydiff::test {

/// "" when `svg` is well-formed, else what is wrong and where.
inline std::string svg_problem(const std::string& svg) {
    const std::string decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    if (svg.compare(0, decl.size(), decl) != 0) return "no XML declaration";
    std::vector<std::string> open;
    bool saw_root = false;
    for (std::size_t i = decl.size(); i < svg.size();) {
        const char c = svg[i];
        if (c == '&') {
            const auto semi = svg.find(';', i);
            const std::string ent = semi == std::string::npos ? "" : svg.substr(i, semi - i + 1);
            if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;") return "bad entity at " + std::to_string(i);
            i = semi + 1;
            continue;
        }
        if (c != '<') {
            ++i;
            continue;
        }
        const auto end = svg.find('>', i);
        if (end == std::string::npos) return "unterminated tag at " + std::to_string(i);
        std::string tag = svg.substr(i + 1, end - i - 1);
        i = end + 1;
        if (tag.find('<') != std::string::npos) return "'<' inside a tag: " + tag;
        std::size_t quotes = 0;
        for (char q : tag) quotes += q == '"' ? 1 : 0;
        if (quotes % 2) return "unbalanced quotes in <" + tag + ">";
        if (!tag.empty() && tag[0] == '/') {
            const std::string name = tag.substr(1);
            if (open.empty() || open.back() != name) return "</" + name + "> closes " + (open.empty() ? "nothing" : open.back());
            open.pop_back();
            continue;
        }
        const bool self_closing = !tag.empty() && tag.back() == '/';
        const std::string name = tag.substr(0, tag.find_first_of(" \n/"));
        if (name.empty()) return "empty tag name";
        if (open.empty()) {
            if (saw_root || name != "svg") return "root element <" + name + "> (expected one <svg>)";
            saw_root = true;
        }
        if (!self_closing) open.push_back(name);
    }
    if (!open.empty()) return "unclosed <" + open.back() + ">";
    if (!saw_root) return "no <svg> element";
    return "";
}

/// Occurrences of `part` in `text`.
inline std::size_t count_of(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto p = text.find(part); p != std::string::npos; p = text.find(part, p + part.size())) ++n;
    return n;
}

}  // namespace dydiff::test
