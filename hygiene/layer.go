package hygiene

import "github.com/vigilsec/vigil/layers"

// LayerInfo returns a copy of layer i of infos for an Issue, or nil when
// there is no such layer (a dir: scan has one layer without digests; a
// metadata field belongs to no layer).
func LayerInfo(infos []layers.Info, i int) *layers.Info {
	if i < 0 || i >= len(infos) {
		return nil
	}
	l := infos[i]
	return &l
}
