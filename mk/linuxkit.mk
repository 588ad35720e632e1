# LinuxKit (issue 15): the images linuxkit.yml names, written by us, so that
# `linuxkit build` needs no registry.
#
#   make linuxkit-images   out/linuxkit/{kernel,init,runc}.oci.tar from the
#                          release image in out/ (`make image` ends with it):
#                          OCI image-layout tarballs for `linuxkit cache
#                          import`, tagged docker.io/lcow-guest/<name>:<version>
#                          and :latest (mk/linuxkit_images.py says what each
#                          holds)
LINUXKIT_OUT = $(IMAGE_OUT)/linuxkit

.PHONY: linuxkit-images

linuxkit-images:
	@python3 $(TOP)/mk/linuxkit_images.py $(IMAGE_OUT) $(LINUXKIT_OUT)
