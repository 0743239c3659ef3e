// The docs stand alone: every citation in the repository's source and doc files resolves inside the repository.
// Scanned: *.hpp, *.cpp, *.h, *.md, *.py, *.build, meson_options.txt and .ci/* under the source root (build
// directories, hidden directories other than .ci, and this file, which spells bad citations on purpose, excluded).
// Rules, each reported as file:line:
//   - `§N[.M...]` names a heading of docs/algorithm.md (`## N.`, `### N.M`, `#### N.M.K`); ranges `§6.1-6.2` check
//     both ends; a `§` right after the name of an external standard (kExternalDocs, e.g. "FIPS 180-4 §5.1.1") is that
//     standard's and is skipped;
//   - on a line that mentions `§11` or "pitfall", every `Pn` is a label `**Pn.` of docs/algorithm.md §11;
//   - no file names the specification that lived outside the repository (kForbidden);
//   - a path such as `docs/x.md` or `dydiff/rollout/dydiff_rollout.hpp` (a top-level folder, then a file with a
//     source or doc extension) exists, from the root or from the citing file's folder; so does the target of a
//     relative Markdown link `[text](x.md)`.
// The suite runs with the working directory test/ (test/meson.build), so the root is its parent.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const std::string kSection = "\xC2\xA7";   // '§' in UTF-8
const std::string kEnDash = "\xE2\x80\x93";  // '–' in UTF-8
const std::string kThisFile = "test/docs/test_citations.cpp";

// Names of documents outside the repository that a citation must never point at. Spelled in pieces so that this
// file does not itself cite them (the names only exist in the lead's notes, never in the project).
const std::string kRefDoc = std::string("dydiff_") + "algorithm.md";
const std::string kRefDir = std::string("shared/") + "reference";
const std::string kEcoDoc = std::string("eco") + "system.md";
const std::vector<std::string> kForbidden = {kRefDoc, kRefDir, kEcoDoc};
// External standards whose own section numbers may follow their name ("FIPS 180-4 §4.2.2").
const std::vector<std::string> kExternalDocs = {"FIPS 180-4 "};
// Top-level folders whose file paths are checked for existence (besides every folder the root has), and the
// extensions that make a token a path.
const std::vector<std::string> kTopDirs = {"autograd", "nn", "data", "dydiff", "test", "docs", "examples"};
const std::vector<std::string> kPathExtensions = {".hpp", ".cpp", ".h", ".md", ".py"};

/// The citable structure of docs/algorithm.md.
struct Spec {
    std::set<std::string> sections;  // "4", "4.2", "5.4.1", ...
    std::set<int> pitfalls;          // n of every "**Pn." label in section 11
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_path_char(char c) { return is_word(c) || c == '.' || c == '/' || c == '-'; }

/// A section number "N" or "N.M..." starting at text[pos] (digits, then groups of '.' and digits); empty if none.
std::string section_number_at(const std::string& text, std::size_t pos) {
    std::size_t end = pos;
    while (end < text.size() && is_digit(text[end])) ++end;
    if (end == pos) return {};
    while (end + 1 < text.size() && text[end] == '.' && is_digit(text[end + 1])) {
        ++end;
        while (end < text.size() && is_digit(text[end])) ++end;
    }
    return text.substr(pos, end - pos);
}

bool starts_with(const std::string& s, const std::string& prefix, std::size_t pos = 0) {
    return s.compare(pos, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

/// Headings `## N. Title`, `### N.M Title`, `#### N.M.K Title` outside fenced code, and the `**Pn.` labels that
/// appear while the current top-level section is 11.
Spec parse_spec(const std::string& markdown) {
    Spec spec;
    bool in_code = false;
    std::string top;
    for (const std::string& line : split_lines(markdown)) {
        if (starts_with(line, "```")) {
            in_code = !in_code;
            continue;
        }
        if (in_code) continue;
        std::size_t hashes = 0;
        while (hashes < line.size() && line[hashes] == '#') ++hashes;
        if (hashes >= 2 && hashes <= 4 && hashes < line.size() && line[hashes] == ' ') {
            const std::string number = section_number_at(line, hashes + 1);
            if (!number.empty()) {
                spec.sections.insert(number);
                if (hashes == 2) top = number;
            }
            continue;
        }
        if (top != "11") continue;
        for (std::size_t pos = line.find("**P"); pos != std::string::npos; pos = line.find("**P", pos + 3)) {
            const std::string n = section_number_at(line, pos + 3);
            if (!n.empty() && n.find('.') == std::string::npos && pos + 3 + n.size() < line.size() &&
                line[pos + 3 + n.size()] == '.')
                spec.pitfalls.insert(std::stoi(n));
        }
    }
    return spec;
}

/// Everything wrong with one line of `file` (a root-relative path); `exists` answers for root-relative paths;
/// `top_dirs` are the folders whose paths are checked.
std::vector<std::string> check_line(const std::string& file, std::size_t line_number, const std::string& line,
                                    const Spec& spec, const std::function<bool(const std::string&)>& exists,
                                    const std::vector<std::string>& top_dirs = kTopDirs) {
    std::vector<std::string> problems;
    const std::string where = file + ":" + std::to_string(line_number) + ": ";

    for (const std::string& name : kForbidden)
        if (line.find(name) != std::string::npos)
            problems.push_back(where + "names '" + name + "', which is outside the repository; cite docs/algorithm.md");

    // Section citations.
    for (std::size_t pos = line.find(kSection); pos != std::string::npos; pos = line.find(kSection, pos + 1)) {
        const bool external = std::any_of(kExternalDocs.begin(), kExternalDocs.end(), [&](const std::string& doc) {
            return pos >= doc.size() && line.compare(pos - doc.size(), doc.size(), doc) == 0;
        });
        if (external) continue;
        std::size_t at = pos + kSection.size();
        if (at < line.size() && line[at] == ' ') ++at;
        const std::string number = section_number_at(line, at);
        if (number.empty()) {
            problems.push_back(where + "'" + kSection + "' without a section number of docs/algorithm.md");
            continue;
        }
        std::vector<std::string> cited = {number};
        std::size_t after = at + number.size();
        for (const std::string& dash : {std::string("-"), kEnDash})
            if (starts_with(line, dash, after)) {
                const std::string end = section_number_at(line, after + dash.size());
                if (!end.empty()) cited.push_back(end);
            }
        for (const std::string& c : cited)
            if (!spec.sections.count(c))
                problems.push_back(where + kSection + c + " is not a section of docs/algorithm.md");
    }

    // Pitfall labels, on lines that cite section 11 or say "pitfall".
    if (line.find(kSection + "11") != std::string::npos || lower(line).find("pitfall") != std::string::npos) {
        for (std::size_t pos = line.find('P'); pos != std::string::npos; pos = line.find('P', pos + 1)) {
            if (pos > 0 && is_word(line[pos - 1])) continue;
            std::size_t end = pos + 1;
            while (end < line.size() && is_digit(line[end])) ++end;
            if (end == pos + 1 || (end < line.size() && is_word(line[end]))) continue;
            const int n = std::stoi(line.substr(pos + 1, end - pos - 1));
            if (!spec.pitfalls.count(n))
                problems.push_back(where + "P" + std::to_string(n) + " is not a pitfall label of docs/algorithm.md " +
                                   kSection + "11");
        }
    }

    // Paths to files of the repository, from the root or from the citing file's folder.
    const std::string dir = fs::path(file).parent_path().generic_string();
    const auto resolves = [&](const std::string& path) {
        if (exists(fs::path(path).lexically_normal().generic_string())) return true;
        return !dir.empty() && exists((fs::path(dir) / path).lexically_normal().generic_string());
    };
    for (const std::string& top : top_dirs) {
        const std::string prefix = top + "/";
        for (std::size_t pos = line.find(prefix); pos != std::string::npos; pos = line.find(prefix, pos + 1)) {
            if (pos > 0 && is_path_char(line[pos - 1])) continue;
            std::size_t end = pos + prefix.size();
            while (end < line.size() && is_path_char(line[end])) ++end;
            std::string path = line.substr(pos, end - pos);
            while (!path.empty() && (path.back() == '.' || path.back() == '-' || path.back() == '/')) path.pop_back();
            const bool is_file = std::any_of(kPathExtensions.begin(), kPathExtensions.end(),
                                             [&](const std::string& ext) { return ends_with(path, ext); });
            if (is_file && !resolves(path)) problems.push_back(where + "'" + path + "' does not exist");
        }
    }

    // Relative Markdown links to other docs.
    if (ends_with(file, ".md")) {
        for (std::size_t pos = line.find("]("); pos != std::string::npos; pos = line.find("](", pos + 2)) {
            const std::size_t close = line.find(')', pos + 2);
            if (close == std::string::npos) continue;
            std::string target = line.substr(pos + 2, close - pos - 2);
            target = target.substr(0, target.find('#'));
            const bool plain = !target.empty() && std::all_of(target.begin(), target.end(), is_path_char);
            if (plain && ends_with(target, ".md") && !resolves(target))
                problems.push_back(where + "link target '" + target + "' does not exist");
        }
    }
    return problems;
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    BOOST_REQUIRE_MESSAGE(in, "cannot open " << path);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

/// The repository's root: the parent of the working directory test/ that test/meson.build sets.
fs::path repo_root() {
    const fs::path root = fs::current_path().parent_path();
    BOOST_REQUIRE_MESSAGE(fs::exists(root / "docs" / "algorithm.md"),
                          "expected the repository root at " << root << " (the suite runs in test/), but "
                                                             << root / "docs" / "algorithm.md" << " is missing");
    return root;
}

bool is_build_dir(const fs::path& dir) { return fs::exists(dir / "meson-private") || fs::exists(dir / "meson-info"); }

/// kTopDirs and every folder of the root that is neither hidden nor a build directory.
std::vector<std::string> top_dirs(const fs::path& root) {
    std::vector<std::string> dirs = kTopDirs;
    for (const fs::directory_entry& e : fs::directory_iterator(root)) {
        const std::string name = e.path().filename().string();
        if (e.is_directory() && name[0] != '.' && !is_build_dir(e.path()) &&
            std::find(dirs.begin(), dirs.end(), name) == dirs.end())
            dirs.push_back(name);
    }
    return dirs;
}

bool is_scanned(const fs::path& rel) {
    const std::string ext = rel.extension().string();
    const std::string s = rel.generic_string();
    if (s == kThisFile) return false;
    if (starts_with(s, ".ci/")) return true;
    if (rel.filename() == "meson_options.txt") return true;
    return ext == ".hpp" || ext == ".cpp" || ext == ".h" || ext == ".md" || ext == ".py" || ext == ".build";
}

/// Root-relative paths of the scanned files, sorted.
std::vector<std::string> scanned_files(const fs::path& root) {
    std::vector<std::string> files;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
        const fs::path& p = it->path();
        const std::string name = p.filename().string();
        if (it->is_directory()) {
            const bool hidden = !name.empty() && name[0] == '.' && name != ".ci";
            if (hidden || is_build_dir(p) || name == "__pycache__" || name == "subprojects") it.disable_recursion_pending();
            continue;
        }
        const fs::path rel = p.lexically_relative(root);
        if (it->is_regular_file() && is_scanned(rel)) files.push_back(rel.generic_string());
    }
    std::sort(files.begin(), files.end());
    return files;
}

const std::string kSpecText =
    "# Title\n"
    "## 0. Sources\n"
    "## 4. Algorithm\n"
    "### 4.2 Rollout\n"
    "```\n"
    "## 9. not a heading, inside code\n"
    "```\n"
    "## 5. Architectures\n"
    "#### 5.4.1 Common\n"
    "**P1. Not a pitfall: outside section 11.**\n"
    "## 11. Pitfalls\n"
    "**P1. The first.** text\n"
    "**P2. The second.** text, and **P3 has no dot**\n"
    "## 12. Tests\n";

bool exists_in(const std::set<std::string>& files, const std::string& path) { return files.count(path) > 0; }

}  // namespace

BOOST_AUTO_TEST_SUITE(citations)

BOOST_AUTO_TEST_CASE(spec_headings_and_pitfall_labels) {
    const Spec spec = parse_spec(kSpecText);
    BOOST_TEST((spec.sections == std::set<std::string>{"0", "4", "4.2", "5", "5.4.1", "11", "12"}));
    BOOST_TEST((spec.pitfalls == std::set<int>{1, 2}));
}

BOOST_AUTO_TEST_CASE(unknown_sections_and_pitfalls_are_reported) {
    const Spec spec = parse_spec(kSpecText);
    const auto cites = [&](const std::string& line) {
        return check_line("dydiff/x.cpp", 7, line, spec,
                          [](const std::string& path) { return path == "docs/algorithm.md"; });
    };
    BOOST_TEST(cites("// docs/algorithm.md " + kSection + "4.2, " + kSection + " 12, " + kSection + "11 P2").empty());
    BOOST_TEST(cites("// " + kSection + "5.4.1(b), step 3; " + kSection + "4.2.").empty());
    BOOST_TEST(cites("FIPS 180-4 " + kSection + "5.3.3: not ours").empty());

    auto p = cites("// " + kSection + "9.9 here");
    BOOST_REQUIRE(p.size() == 1u);
    BOOST_TEST(p[0] == "dydiff/x.cpp:7: " + kSection + "9.9 is not a section of docs/algorithm.md");
    p = cites("(" + kSection + "4.2-4.7)");
    BOOST_REQUIRE(p.size() == 1u);
    BOOST_TEST(p[0].find(kSection + "4.7 is not") != std::string::npos);
    p = cites("(" + kSection + "11 P1" + kEnDash + "P3)");
    BOOST_REQUIRE(p.size() == 1u);
    BOOST_TEST(p[0].find("P3 is not a pitfall label") != std::string::npos);
    p = cites("the hopper pitfall P7");
    BOOST_TEST(p.size() == 1u);
    BOOST_TEST(cites("P_mean and P7 on a line without the trigger words").empty());
    p = cites("cited as " + kSection + "N");
    BOOST_REQUIRE(p.size() == 1u);
    BOOST_TEST(p[0].find("without a section number") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(outside_documents_and_missing_files_are_reported) {
    const Spec spec = parse_spec(kSpecText);
    const std::set<std::string> files = {"docs/algorithm.md", "docs/dydiff.md", "dydiff/models/holdout.hpp",
                                         "test/data/main.cpp", "README.md"};
    const auto exists = [&](const std::string& path) { return exists_in(files, path); };
    const auto check = [&](const std::string& file, const std::string& line) {
        return check_line(file, 3, line, spec, exists);
    };
    BOOST_TEST(check("docs/x.md", "the reference `../" + kRefDir + "/" + kRefDoc + "`").size() == 2u);
    auto p = check("data/x.hpp", "// " + kEcoDoc + " " + kSection + "4.2");
    BOOST_REQUIRE(p.size() == 1u);
    BOOST_TEST(p[0] == "data/x.hpp:3: names '" + kEcoDoc + "', which is outside the repository; cite docs/algorithm.md");
    BOOST_TEST(check("dydiff/x.cpp", "// in dydiff/models/holdout.hpp and docs/dydiff.md.").empty());
    p = check("dydiff/x.cpp", "// moved: dydiff/holdout.hpp, docs/missing.md");
    BOOST_REQUIRE(p.size() == 2u);
    BOOST_TEST(p[0] == "dydiff/x.cpp:3: 'dydiff/holdout.hpp' does not exist");
    BOOST_TEST(p[1] == "dydiff/x.cpp:3: 'docs/missing.md' does not exist");
    // Relative to the citing file's folder (test/meson.build names data/main.cpp), URLs and wildcards skipped.
    BOOST_TEST(check("test/meson.build", "files('data/main.cpp')").empty());
    BOOST_TEST(check("docs/a.md", "https://github.com/x/y/blob/master/data/loader.py and dydiff/cli/cmd_*.cpp").empty());
    // Folders beyond kTopDirs are checked when the caller names them (the repository scan passes every root folder).
    BOOST_TEST(check("docs/a.md", "see embed/policy.hpp").empty());
    BOOST_TEST(check_line("docs/a.md", 3, "see embed/policy.hpp", spec, exists, {"embed"}).size() == 1u);
    // Markdown links resolve from the doc's folder.
    BOOST_TEST(check("docs/a.md", "see [the map](dydiff.md#files) and [top](../README.md)").empty());
    p = check("docs/a.md", "see [gone](gone.md)");
    BOOST_REQUIRE(p.size() == 1u);
    BOOST_TEST(p[0] == "docs/a.md:3: link target 'gone.md' does not exist");
    BOOST_TEST(check("docs/a.md", "[](const auto& v) { return v; }").empty());
}

BOOST_AUTO_TEST_CASE(algorithm_md_has_every_numbered_section_and_pitfall) {
    const Spec spec = parse_spec(read_text(repo_root() / "docs" / "algorithm.md"));
    for (int s = 0; s <= 12; ++s) BOOST_TEST(spec.sections.count(std::to_string(s)) == 1u, "section " << s);
    for (const char* s : {"4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "4.7", "5.1", "5.2", "5.3", "5.4", "6.1", "6.2",
                          "6.3", "6.4", "6.5", "6.6", "7.1", "7.2", "7.3", "7.4", "7.5"})
        BOOST_TEST(spec.sections.count(s) == 1u, "section " << s);
    for (int n = 1; n <= 30; ++n) BOOST_TEST(spec.pitfalls.count(n) == 1u, "pitfall P" << n);
}

BOOST_AUTO_TEST_CASE(every_citation_in_the_repository_resolves) {
    const fs::path root = repo_root();
    const Spec spec = parse_spec(read_text(root / "docs" / "algorithm.md"));
    const auto exists = [&](const std::string& path) { return fs::exists(root / path); };
    const std::vector<std::string> files = scanned_files(root);
    const std::vector<std::string> dirs = top_dirs(root);
    // The scan must see the repository, not an empty or wrong directory.
    BOOST_TEST(files.size() >= 150u);
    BOOST_TEST(std::count(files.begin(), files.end(), "docs/dydiff.md") == 1);
    BOOST_TEST(std::count(files.begin(), files.end(), "dydiff/diffusion/edm.hpp") == 1);

    std::size_t citations = 0;
    std::vector<std::string> problems;
    for (const std::string& file : files) {
        const std::vector<std::string> lines = split_lines(read_text(root / file));
        for (std::size_t i = 0; i < lines.size(); ++i) {
            for (std::size_t pos = lines[i].find(kSection); pos != std::string::npos;
                 pos = lines[i].find(kSection, pos + 1))
                ++citations;
            for (std::string& p : check_line(file, i + 1, lines[i], spec, exists, dirs)) problems.push_back(std::move(p));
        }
    }
    BOOST_TEST(citations >= 100u);  // the repository cites the specification throughout
    std::ostringstream report;
    for (const std::string& p : problems) report << "\n  " << p;
    BOOST_TEST(problems.empty(), problems.size() << " unresolved citation(s) or path(s):" << report.str());
}

BOOST_AUTO_TEST_SUITE_END()
