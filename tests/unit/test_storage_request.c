/* The job table a ModifySettings handler uses: ResourceType and RequestType
 * parsing, and storage_run reaching the right runtime call. */
#include "storage_fixture.h"

#include "cleanup.h"

TEST(request_resource_types_are_the_specs)
{
	static const char *const names[] = {"MappedVirtualDisk", "SCSIDevice", "MappedDirectory",
					    "VPMemDevice", "CombinedLayers"};
	static const enum storage_resource want[] = {STORAGE_MAPPED_VIRTUAL_DISK,
						     STORAGE_SCSI_DEVICE, STORAGE_MAPPED_DIRECTORY,
						     STORAGE_VPMEM_DEVICE, STORAGE_COMBINED_LAYERS};
	enum storage_resource r;
	struct error e;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		CHECK_OK(storage_resource_parse(names[i], &r, &e));
		CHECK_EQ(r, want[i]);
	}
	CHECK_EQ(storage_resource_parse("Network", &r, &e), -ENOENT);
	CHECK_EQ(storage_resource_parse("mappedvirtualdisk", &r, &e), -ENOENT);
}

TEST(request_types_per_resource)
{
	enum storage_action a;
	struct error e;

	CHECK_OK(storage_action_parse(STORAGE_MAPPED_VIRTUAL_DISK, "Add", &a, &e));
	CHECK_EQ(a, STORAGE_ADD);
	CHECK_OK(storage_action_parse(STORAGE_COMBINED_LAYERS, "Remove", &a, &e));
	CHECK_EQ(a, STORAGE_REMOVE);
	CHECK_OK(storage_action_parse(STORAGE_SCSI_DEVICE, "Remove", &a, &e));
	CHECK_EQ(storage_action_parse(STORAGE_SCSI_DEVICE, "Add", &a, &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "SCSIDevice: invalid request type 'Add'");
	CHECK_EQ(storage_action_parse(STORAGE_VPMEM_DEVICE, "Update", &a, &e), -EINVAL);
	CHECK_EQ(storage_action_parse(STORAGE_MAPPED_DIRECTORY, "PreAdd", &a, &e), -EINVAL);
	CHECK_EQ(e.kind, ERR_FAIL);
}

TEST(request_run_reaches_each_runtime_call)
{
	char file[PATH_MAX], buf[8], mp[PATH_MAX];
	struct storage_request req = {.cfg = &fx.cfg};
	struct error e;

	fx_init(true);
	/* SCSIDevice Remove: the unplug write. */
	fx_scsi_disk(1, 7, 2, "sdh", NULL);
	fx_fmt(file, "%s/bus/scsi/devices/7:0:0:2/delete", fx.sys);
	fx_write(file, "");
	req.resource = STORAGE_SCSI_DEVICE;
	req.action = STORAGE_REMOVE;
	req.scsi_device.controller = 1;
	req.scsi_device.lun = 2;
	CHECK_STORAGE(storage_run(&req, &e), &e);
	CHECK_STREQ(fx_read(file, buf, sizeof(buf)), "1\n");
	req.action = STORAGE_ADD;
	CHECK_EQ(storage_run(&req, &e), -EINVAL);

	/* Each Add checks its own fields: the message says which call ran. */
	memset(&req, 0, sizeof(req));
	req.cfg = &fx.cfg;
	req.resource = STORAGE_MAPPED_VIRTUAL_DISK;
	req.disk.controller = 0;
	req.disk.lun = 256; /* would alias LUN 0 if truncated to 8 bits */
	fx_fmt(mp, "%s/m", fx.run);
	req.disk.mount_path = mp;
	CHECK_EQ(storage_run(&req, &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "SCSI controller 0 LUN 256: LUN must be 0-63");

	memset(&req, 0, sizeof(req));
	req.cfg = &fx.cfg;
	req.resource = STORAGE_MAPPED_DIRECTORY;
	req.directory.mount_path = mp;
	req.directory.port = -1;
	CHECK_EQ(storage_run(&req, &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "Port -1 is negative");

	memset(&req, 0, sizeof(req));
	req.cfg = &fx.cfg;
	req.resource = STORAGE_COMBINED_LAYERS;
	req.layers.root_path = mp;
	CHECK_EQ(storage_run(&req, &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "no layers");

	memset(&req, 0, sizeof(req));
	req.cfg = &fx.cfg;
	req.resource = STORAGE_VPMEM_DEVICE;
	req.vpmem.device_number = 4;
	req.vpmem.mount_path = "/etc";
	CHECK_EQ(storage_run(&req, &e), -EPERM);
	CHECK_CONTAINS(e.msg, "VPMem device 4");

	/* Removes of what never existed succeed, whatever the type. */
	req.vpmem.mount_path = mp;
	for (int t = STORAGE_MAPPED_VIRTUAL_DISK; t <= STORAGE_COMBINED_LAYERS; t++) {
		if (t == STORAGE_SCSI_DEVICE)
			continue;
		memset(&req, 0, sizeof(req));
		req.cfg = &fx.cfg;
		req.resource = (enum storage_resource)t;
		req.action = STORAGE_REMOVE;
		if (t == STORAGE_MAPPED_VIRTUAL_DISK)
			req.disk.mount_path = mp;
		else if (t == STORAGE_MAPPED_DIRECTORY)
			req.directory.mount_path = mp;
		else if (t == STORAGE_VPMEM_DEVICE)
			req.vpmem.mount_path = mp;
		else
			req.layers.root_path = mp;
		CHECK_STORAGE(storage_run(&req, &e), &e);
	}
	req.resource = (enum storage_resource)99;
	CHECK_EQ(storage_run(&req, &e), -EINVAL);
}
