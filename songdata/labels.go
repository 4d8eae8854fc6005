package songdata

import "strings"

// The label lists of AudioMuse-AI (github.com/NeptuneHub/AudioMuse-AI),
// copied from its config.py, spelled exactly as it spells them: its client
// reads moods into a map by label, so a label must come back as it was
// sent. MOOD_LABELS are the tags of the MusiCNN model (mood_vector);
// OTHER_FEATURE_LABELS are computed by CLAP text-audio similarity
// (other_features).
var (
	AudioMuseMoodLabels = []string{
		"rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s", "alternative rock", "jazz",
		"beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s",
		"folk", "90s", "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic", "experimental",
		"female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening", "sexy", "catchy", "funk", "electro",
		"heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad", "House", "happy",
	}
	AudioMuseOtherFeatureLabels = []string{"danceable", "aggressive", "happy", "party", "relaxed", "sad"}
)

// knownLabels maps the folded form of every known label to its spelling.
var knownLabels = func() map[string]string {
	m := map[string]string{}
	for _, list := range [][]string{AudioMuseMoodLabels, AudioMuseOtherFeatureLabels} {
		for _, l := range list {
			m[FoldLabel(l)] = l
		}
	}
	return m
}()

// FoldLabel is the form in which labels are compared: two labels that fold
// the same are one label ("House", "house", "HOUSE"). Labels are ASCII.
func FoldLabel(name string) string { return strings.ToLower(name) }

// CanonicalLabel is the spelling a label is stored and returned with: the
// spelling of the known label lists for a known label ("house" → "House"),
// the label as given otherwise.
func CanonicalLabel(name string) string {
	if k, ok := knownLabels[FoldLabel(name)]; ok {
		return k
	}
	return name
}
