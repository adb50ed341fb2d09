"""Cinder volume driver: Cinder's own fake (logging) driver with image copies made no-ops.

Volumes, attachments, snapshots and boot-from-volume go through Cinder's API, scheduler and volume
manager for real; no block device exists behind them. Writing an image into a volume (and a volume
into an image) would need an attached block device, so those two steps do nothing: the volume is
created from the image as far as every API can tell (volume_image_metadata, bootable).
"""
from cinder.tests import fake_driver


class FakeVolumeDriver(fake_driver.FakeLoggingVolumeDriver):
    """FakeLoggingVolumeDriver whose image transfers are no-ops."""

    def copy_image_to_volume(self, context, volume, image_service, image_id):
        pass

    def copy_image_to_encrypted_volume(self, context, volume, image_service,
                                       image_id):
        pass

    def copy_volume_to_image(self, context, volume, image_service, image_meta):
        pass
