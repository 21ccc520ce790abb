package dev.edgellm.core.testing;

import dev.edgellm.core.gguf.GgufFileWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A full disk for {@link GgufFileWriter} (no test can fill a real one). */
public final class DiskFull {
    private DiskFull() {}

    /**
     * A sink that writes the file normally until {@code limit} bytes, then sends the write to
     * {@code /dev/full}, which fails with the kernel's real ENOSPC ("No space left on device"), or
     * throws that message where there is no {@code /dev/full}.
     */
    public static GgufFileWriter.SinkOpener after(long limit) {
        return file -> {
            GgufFileWriter.Sink real = GgufFileWriter.FILE_CHANNEL.open(file);
            return new GgufFileWriter.Sink() {
                long written;

                @Override
                public void write(ByteBuffer src, long position) throws IOException {
                    if (written + src.remaining() > limit) {
                        Path full = Path.of("/dev/full");
                        if (Files.isWritable(full)) {
                            try (FileChannel ch = FileChannel.open(full, StandardOpenOption.WRITE)) {
                                ch.write(src);
                                ch.force(true);
                            }
                        }
                        throw new IOException("No space left on device");
                    }
                    written += src.remaining();
                    real.write(src, position);
                }

                @Override
                public void force() throws IOException {
                    real.force();
                }

                @Override
                public void close() throws IOException {
                    real.close();
                }
            };
        };
    }
}
