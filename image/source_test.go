package image

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestBaseLayers(t *testing.T) {
	layer := func(by string) v1.History { return v1.History{CreatedBy: by} }
	empty := func(by string) v1.History { return v1.History{CreatedBy: by, EmptyLayer: true} }
	tests := []struct {
		name    string
		history []v1.History
		layers  int
		want    int
	}{
		{"no history", nil, 2, 0},
		{"single stage, own CMD last", []v1.History{layer("ADD rootfs.tar /"), empty(`CMD ["bash"]`)}, 1, 0},
		{
			"debian base then two app layers",
			[]v1.History{
				layer("# debian.sh --arch 'amd64' out/ 'bookworm'"), empty(`/bin/sh -c #(nop)  CMD ["bash"]`),
				layer("RUN apt-get install -y python3"), empty("WORKDIR /app"), layer("COPY app /app"),
				empty(`CMD ["/app/run"]`),
			},
			3, 1,
		},
		{
			"alpine base with two layers and an entrypoint",
			[]v1.History{
				layer("ADD file:abc in /"), layer("RUN apk add ca-certificates"), empty(`ENTRYPOINT ["/bin/sh"]`),
				layer("COPY app /usr/local/bin/app"),
			},
			3, 2,
		},
		{
			"base of a base: the last marker wins",
			[]v1.History{
				layer("ADD rootfs /"), empty(`CMD ["bash"]`), layer("RUN install runtime"), empty(`CMD ["python3"]`),
				layer("COPY . /app"),
			},
			3, 2,
		},
		{"history lists more layers than the manifest", []v1.History{layer("a"), layer("b"), empty("CMD x"), layer("c")}, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := baseLayers(tc.history, tc.layers); got != tc.want {
				t.Errorf("baseLayers = %d, want %d", got, tc.want)
			}
		})
	}
}
