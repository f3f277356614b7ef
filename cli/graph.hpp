// The ASCII commit graph of `evcs log --graph`, drawn as `git log --graph --oneline` draws it:
// one row per commit (`*` in its lane, `|` in the others), and between rows the lanes that
// move drawn with `/` and `\`.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace evcs::cli {

struct GraphCommit {
  std::string id;
  std::vector<std::string> parents;  // first parent first
  std::string text;                  // printed after the graph
};

// The lines of the graph of `commits`, given children before parents (newest first: a commit's
// stamp is later than its parents'). `limit` (if not zero) stops after that many commits.
//
// Lane assignment: `lanes` holds, per column, the id of the commit that column waits for. A
// commit takes the first column waiting for it (or a new one at the right: a branch head).
// Its column then waits for its first parent; further parents not yet waited for get new
// columns right after it. When two columns wait for the same commit, the right one joins the
// left one (a fork point). Each column moves at most one place per connector row, left drawn
// as `/` and right as `\`; no connector row is drawn when no column moves.
inline std::vector<std::string> draw_graph(const std::vector<GraphCommit> &commits,
                                           std::size_t limit = 0) {
  std::vector<std::string> lines;
  std::vector<std::string> lanes;
  auto position = [](const std::vector<std::string> &in, const std::string &id) {
    return static_cast<std::size_t>(std::find(in.begin(), in.end(), id) - in.begin());
  };
  std::size_t shown = 0;
  for (const auto &commit : commits) {
    if (limit != 0 && shown == limit) break;
    std::size_t column = position(lanes, commit.id);
    if (column == lanes.size()) lanes.push_back(commit.id);

    std::string row;
    for (std::size_t lane = 0; lane < lanes.size(); ++lane)
      row += std::string(lane == 0 ? "" : " ") + (lane == column ? "*" : "|");
    lines.push_back(row + (commit.text.empty() ? "" : " " + commit.text));
    ++shown;
    if (limit != 0 && shown == limit) break;

    // The columns after this commit.
    std::vector<std::string> next = lanes;
    if (commit.parents.empty()) {
      next.erase(next.begin() + static_cast<std::ptrdiff_t>(column));
    } else {
      next[column] = commit.parents[0];
      std::size_t insert_at = column + 1;
      for (std::size_t parent = 1; parent < commit.parents.size(); ++parent)
        if (position(next, commit.parents[parent]) == next.size())
          next.insert(next.begin() + static_cast<std::ptrdiff_t>(insert_at++),
                      commit.parents[parent]);
    }
    std::vector<std::string> joined;
    for (const auto &id : next)
      if (position(joined, id) == joined.size()) joined.push_back(id);

    // Edges from the columns of this row to those of the next.
    struct Edge {
      std::size_t at, to;
    };
    std::vector<Edge> edges;
    for (std::size_t lane = 0; lane < lanes.size(); ++lane)
      if (lane != column) edges.push_back({lane, position(joined, lanes[lane])});
    for (const auto &parent : commit.parents) edges.push_back({column, position(joined, parent)});
    bool moving = std::any_of(edges.begin(), edges.end(),
                              [](const Edge &edge) { return edge.at != edge.to; });
    while (moving) {
      std::string connector(2 * std::max(lanes.size(), joined.size()) + 1, ' ');
      moving = false;
      for (auto &edge : edges) {
        if (edge.at == edge.to) {
          connector[2 * edge.at] = '|';
        } else if (edge.to < edge.at) {
          connector[2 * edge.at - 1] = '/';
          --edge.at;
        } else {
          connector[2 * edge.at + 1] = '\\';
          ++edge.at;
        }
        moving = moving || edge.at != edge.to;
      }
      connector.erase(connector.find_last_not_of(' ') + 1);
      lines.push_back(connector);
    }
    lanes = std::move(joined);
  }
  return lines;
}

} // namespace evcs::cli
