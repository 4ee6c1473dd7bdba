package interop;

import java.util.concurrent.CompletableFuture;

import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.rpc.RpcContext;

/** What differs between Dubbo lines: here 2.7 (one RpcContext, plus the server context). */
final class Compat {
    private Compat() {}

    static final String LINE = "2.7";

    /** 2.7 has no prefer.serialization: hessian2 is the default and only one set. */
    static void preferHessian(ProtocolConfig protocol) {}

    /** Provider: the current request's attachment. */
    static String requestAttachment(String key) {
        return RpcContext.getContext().getAttachment(key);
    }

    /** Provider: an attachment sent back with the response. */
    static void responseAttachment(String key, String value) {
        RpcContext.getServerContext().setAttachment(key, value);
    }

    /** Consumer: an attachment for the next call from this thread. */
    static void callAttachment(String key, String value) {
        RpcContext.getContext().setAttachment(key, value);
    }

    /** Consumer: forgets the attachments set for the next call. */
    static void clearCallAttachments() {
        RpcContext.getContext().clearAttachments();
    }

    /** Consumer: an attachment the provider sent back with the last response. */
    static String returnedAttachment(String key) {
        return RpcContext.getServerContext().getAttachment(key);
    }

    /** Consumer: the future of the last async call from this thread. */
    static <T> CompletableFuture<T> lastFuture() {
        return RpcContext.getContext().getCompletableFuture();
    }

    static <T> CompletableFuture<T> asyncCall(java.util.concurrent.Callable<T> call) {
        return RpcContext.getContext().asyncCall(call);
    }
}
