package interop;

import java.util.concurrent.CompletableFuture;

import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.rpc.RpcContext;

/** What differs between Dubbo lines: here 3.3 (RpcContext split into attachment scopes). */
final class Compat {
    private Compat() {}

    static final String LINE = "3.3";

    /** Keeps fastjson2 out of what the provider advertises and accepts first. */
    static void preferHessian(ProtocolConfig protocol) {
        protocol.setPreferSerialization("hessian2");
    }

    /** Provider: the current request's attachment. */
    static String requestAttachment(String key) {
        return RpcContext.getServerAttachment().getAttachment(key);
    }

    /** Provider: an attachment sent back with the response. */
    static void responseAttachment(String key, String value) {
        RpcContext.getServerResponseContext().setAttachment(key, value);
    }

    /** Consumer: an attachment for the next call from this thread. */
    static void callAttachment(String key, String value) {
        RpcContext.getClientAttachment().setAttachment(key, value);
    }

    /** Consumer: forgets the attachments set for the next call. */
    static void clearCallAttachments() {
        RpcContext.getClientAttachment().clearAttachments();
    }

    /** Consumer: an attachment the provider sent back with the last response. */
    static String returnedAttachment(String key) {
        return RpcContext.getClientResponseContext().getAttachment(key);
    }

    /** Consumer: the future of the last async call from this thread. */
    static <T> CompletableFuture<T> lastFuture() {
        return RpcContext.getServiceContext().getCompletableFuture();
    }

    static <T> CompletableFuture<T> asyncCall(java.util.concurrent.Callable<T> call) {
        return RpcContext.getServiceContext().asyncCall(call);
    }
}
