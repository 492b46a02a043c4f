// Python's html.unescape(), which CLIP applies twice to every text.
//
// Numeric references (&#65; &#x41; with or without ';') follow Python exactly,
// including its HTML5 repairs: &#128;..&#159; as Windows-1252, &#0; and
// surrogates/out-of-range as U+FFFD, noncharacters and most C0/C1 controls
// dropped.
//
// Named references: Python knows all 2,231 HTML5 names; dinoclip knows 298
// (html_entities.inc, generated from Python's table): HTML 4.01's 252 (&amp;
// &lt; &gt; &quot; &nbsp; &eacute; &hellip; &mdash; &rsquo; &euro; Greek
// letters, arrows, maths ...), &apos;, the legacy forms valid without ';'
// ("&amp", "&copy", "&eacute" ...) and the HTML5 names that start with a
// legacy name (&notin; ...), so Python's longest-prefix rule gives the same
// answer for every name we know. Limit: any other HTML5 name (e.g. &check;,
// &NewLine;) stays as literal text where Python would replace it.
#pragma once

#include <string>

namespace dinoclip {

std::u32string html_unescape(const std::u32string& text);

}  // namespace dinoclip
